import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { track } from '../child-processes';
import { freePort, onFreePort } from '../ports';
import { ensureSystemPackages } from '../system-deps';

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  /** Stops the server and starts it again on the same port: empty, unless started durable. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function launch(port: number, dataDir: string | undefined): Promise<ChildProcess> {
  const persistence =
    dataDir === undefined
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dataDir];
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--protected-mode', 'yes', ...persistence],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  track(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)),
    );
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/**
 * Starts a throwaway redis-server on a free loopback port. `durable` keeps an fsync'ed
 * append-only file in a temporary folder, so that a restart keeps the data.
 */
export async function startRedis(options: { durable?: boolean } = {}): Promise<LocalRedis> {
  ensureSystemPackages(['redis-server']);
  const dataDir = options.durable ? mkdtempSync(join(tmpdir(), 'surge-redis-')) : undefined;
  let { port, child } = await onFreePort(freePort, async (port) => ({
    port,
    child: await launch(port, dataDir),
  }));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart() {
      await terminate(child);
      child = await launch(port, dataDir);
    },
    async stop() {
      await terminate(child);
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
