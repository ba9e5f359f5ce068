import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../lib/constructs/surge-function';

/** The Node.js major of the Lambda runtime SurgeFunction deploys to (Runtime.NODEJS_22_X). */
export const LAMBDA_NODE_MAJOR = 22;

export type RuntimeNode =
  | { readonly execPath: string; readonly version: string }
  | { readonly unavailable: string };

/**
 * A Node.js binary of the Lambda runtime's major, so that the cold start is also measured on the
 * V8 that runs the function in AWS (its Maglev tier is not in Node.js 20). This machine's own Node.js
 * when it is that major; otherwise the official build that the npm registry carries as
 * `node-linux-<arch>`, fetched once into .cache/. Unavailable, with the reason, when it cannot be had.
 */
export function lambdaRuntimeNode(): RuntimeNode {
  if (Number(process.versions.node.split('.')[0]) === LAMBDA_NODE_MAJOR) {
    return { execPath: process.execPath, version: process.version };
  }
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
    return { unavailable: `no node-linux package for ${process.platform}/${process.arch}` };
  }
  const dir = join(PROJECT_ROOT, '.cache', `node-${LAMBDA_NODE_MAJOR}-${process.arch}`);
  const execPath = join(dir, 'bin', 'node');
  if (!existsSync(execPath)) {
    const staging = `${dir}.download`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const pack = spawnSync(
      'npm',
      ['pack', `node-linux-${process.arch}@${LAMBDA_NODE_MAJOR}`, '--silent', '--pack-destination', staging],
      { encoding: 'utf8' },
    );
    const tarball = readdirSync(staging).find((name) => name.endsWith('.tgz'));
    if (pack.status !== 0 || tarball === undefined) {
      return {
        unavailable: `npm pack node-linux-${process.arch}@${LAMBDA_NODE_MAJOR} failed: ${pack.stderr.trim()}`,
      };
    }
    const untar = spawnSync('tar', ['-xzf', tarball, '--strip-components=1', 'package/bin/node'], {
      cwd: staging,
      encoding: 'utf8',
    });
    if (untar.status !== 0) return { unavailable: `cannot unpack ${tarball}: ${untar.stderr.trim()}` };
    rmSync(join(staging, tarball));
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  }
  const version = spawnSync(execPath, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) return { unavailable: `${execPath} does not run: ${version.stderr.trim()}` };
  return { execPath, version: version.stdout.trim() };
}
