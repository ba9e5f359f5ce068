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
  /** Freezes the process (SIGSTOP), as a node that stops answering; `resume` thaws it. */
  pause(): void;
  resume(): void;
  /** Kills the process at once (SIGKILL), as a node that dies. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Keep an fsync'ed append-only file in a temporary folder, so that a restart keeps the data. */
  readonly durable?: boolean;
  /** Start as a replica of the server on this loopback port. */
  readonly replicaOf?: number;
  /** More `redis-server` arguments, e.g. `['--maxmemory', '2mb']`. */
  readonly args?: readonly string[];
}

async function launch(
  port: number,
  dataDir: string,
  durable: boolean,
  extra: readonly string[] = [],
): Promise<ChildProcess> {
  // Every server has a directory of its own, durable or not: a replica writes the primary's RDB
  // there on a full sync, which would otherwise land in the caller's working directory.
  const persistence = [
    '--dir',
    dataDir,
    ...(durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--protected-mode',
      'yes',
      ...persistence,
      ...extra,
    ],
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
  // A paused server handles SIGTERM only once it runs again.
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  await exited;
}

/** Starts a throwaway redis-server on a free loopback port. */
export async function startRedis(options: RedisServerOptions = {}): Promise<LocalRedis> {
  ensureSystemPackages(['redis-server']);
  const dataDir = mkdtempSync(join(tmpdir(), 'surge-redis-'));
  const durable = options.durable ?? false;
  const extra = [
    ...(options.replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(options.replicaOf)]),
    ...(options.args ?? []),
  ];
  let { port, child } = await onFreePort(freePort, async (port) => ({
    port,
    child: await launch(port, dataDir, durable, extra),
  })).catch((error: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart() {
      await terminate(child);
      // What a replica's full sync left there would be loaded: a server that is not durable starts empty.
      if (!durable) rmSync(join(dataDir, 'dump.rdb'), { force: true });
      child = await launch(port, dataDir, durable, extra);
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      await terminate(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
