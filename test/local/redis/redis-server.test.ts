import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startRedis } from '../../../local/redis/redis-server';

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('startRedis', () => {
  it("keeps a replica's full-sync copy in a directory of its own, which stop removes, never in the working directory", async () => {
    const inWorkingDir = join(process.cwd(), 'dump.rdb');
    const before = existsSync(inWorkingDir);
    const primary = await startRedis();
    const replica = await startRedis({ replicaOf: primary.port });
    const writer = new Redis(primary.url);
    const reader = new Redis(replica.url);
    try {
      await writer.set('k', 'v');
      await until(async () => (await reader.get('k')) === 'v', 'the replica to sync');
      const [, dir] = (await reader.config('GET', 'dir')) as [string, string];
      expect(dir).not.toBe(process.cwd());
      await until(async () => existsSync(join(dir, 'dump.rdb')), 'the synced RDB on disk');
      expect(existsSync(inWorkingDir)).toBe(before);

      reader.disconnect();
      await replica.stop();
      expect(existsSync(dir)).toBe(false);
    } finally {
      writer.disconnect();
      reader.disconnect();
      await replica.stop();
      await primary.stop();
    }
  }, 30_000);

  it('restarts a server that is not durable empty, even after a full sync wrote an RDB', async () => {
    const primary = await startRedis();
    const replica = await startRedis({ replicaOf: primary.port });
    const writer = new Redis(primary.url);
    try {
      await writer.set('k', 'v');
      const reader = new Redis(replica.url);
      await until(async () => (await reader.get('k')) === 'v', 'the replica to sync');
      reader.disconnect();
      writer.disconnect();
      await primary.stop();
      await replica.restart();
      // The primary is gone, so whatever the restarted replica holds came from its directory.
      const after = new Redis(replica.url);
      try {
        expect(await after.dbsize()).toBe(0);
      } finally {
        after.disconnect();
      }
    } finally {
      writer.disconnect();
      await replica.stop();
      await primary.stop();
    }
  }, 30_000);
});
