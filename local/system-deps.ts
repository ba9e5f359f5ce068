import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The Debian packages the local tools need, and how to tell whether each is present. */
const PACKAGES = {
  'redis-server': () => commandExists('redis-server'),
  'librdkafka-dev': () =>
    commandExists('pkg-config') && spawnSync('pkg-config', ['--exists', 'rdkafka']).status === 0,
  gcc: () => commandExists('cc'),
  'pkg-config': () => commandExists('pkg-config'),
  /** librdkafka's command-line client: the tests produce compressed batches with it, as a user would. */
  kcat: () => commandExists('kcat'),
} as const;

export type SystemPackage = keyof typeof PACKAGES;

function commandExists(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export class MissingSystemPackageError extends Error {}

/**
 * Makes sure the packages are installed: on Debian or Ubuntu as root they are installed with
 * apt-get; elsewhere the error names what to install.
 */
export function ensureSystemPackages(packages: readonly SystemPackage[]): void {
  const missing = packages.filter((name) => !PACKAGES[name]());
  if (missing.length === 0) return;
  const canInstall =
    existsSync('/etc/debian_version') && process.getuid?.() === 0 && commandExists('apt-get');
  if (!canInstall) {
    throw new MissingSystemPackageError(
      `missing system packages: ${missing.join(', ')}. Install them (Debian/Ubuntu: sudo apt-get install -y ${missing.join(' ')}; macOS: brew install redis librdkafka pkg-config kcat) and run again.`,
    );
  }
  process.stderr.write(`installing ${missing.join(', ')} with apt-get...\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
    });
  } catch (cause) {
    throw new MissingSystemPackageError(`apt-get could not install ${missing.join(', ')}`, { cause });
  }
  const still = missing.filter((name) => !PACKAGES[name]());
  if (still.length > 0)
    throw new MissingSystemPackageError(`still missing after apt-get: ${still.join(', ')}`);
}
