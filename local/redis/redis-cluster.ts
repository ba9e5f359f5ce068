import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePortWithCompanion, onFreePort } from '../ports';
import { ensureSystemPackages } from '../system-deps';

const run = promisify(execFile);

export interface LocalRedisCluster {
  /** Seed node as a URL; a cluster-aware client discovers the others. */
  readonly url: string;
  readonly ports: number[];
  stop(): Promise<void>;
}

async function waitReady(child: ChildProcess): Promise<void> {
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
  child.stdout?.resume();
}

/**
 * A Redis Cluster of `masters` nodes on free loopback ports (no replicas), as ElastiCache
 * Serverless and cluster-mode caches present themselves to clients.
 */
export async function startRedisCluster(masters = 3): Promise<LocalRedisCluster> {
  ensureSystemPackages(['redis-server']);
  const dir = mkdtempSync(join(tmpdir(), 'surge-redis-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      // Each node also listens on its cluster bus port, port + 10000.
      const port = await onFreePort(
        () => freePortWithCompanion(10_000),
        async (candidate) => {
          const child = spawn(
            'redis-server',
            [
              '--port',
              String(candidate),
              '--bind',
              '127.0.0.1',
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              join(dir, `nodes-${candidate}.conf`),
              '--save',
              '',
              '--appendonly',
              'no',
              '--dir',
              dir,
            ],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
          children.push(child);
          await waitReady(child);
          return candidate;
        },
      );
      ports.push(port);
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (let attempt = 0; ; attempt++) {
      const { stdout } = await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'info']);
      if (stdout.includes('cluster_state:ok')) break;
      if (attempt > 100) throw new Error(`cluster did not become ready: ${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${ports[0]}`, ports, stop };
}
