/**
 * What a device costs Redis, the store alone (no handler, no broker), for a fleet of one reading per
 * device per batch: the device script through RedisAnalyticsStore merging every delta itself
 * (REDIS_MERGE_KNOWN_HEADS=false), the same store with known heads (the default: it only checks
 * and splices heads the store merged, docs/architecture.md "Known heads"), and the floor of a
 * compare-and-set store whose merge would run in TypeScript altogether (docs/performance.md,
 * "Session 10"): one MGET of the device values, then a script that checks each value's first 9
 * bytes (format and count, which every write raises) and writes the new values with one MSET.
 *
 *   npx tsx bench/store-cost.ts [--devices 10000] [--batches 12]
 *
 * Prints one JSON line: script (and MGET) time per device from INFO commandstats, and wall time per
 * device, for each.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { DeviceAccumulator } from '../functions/analytics/aggregate';
import type { DeviceDelta } from '../functions/domain/deltas';
import { RedisAnalyticsStore } from '../functions/shared/redis/analytics-store';
import { BUCKET_MS, keySpace } from '../functions/shared/redis/layout';
import { startRedis } from '../local/redis/redis-server';

const { values } = parseArgs({
  options: { devices: { type: 'string', default: '10000' }, batches: { type: 'string', default: '12' } },
});
const DEVICES = Number(values.devices);
const BATCHES = Number(values.batches);
const PER_CALL = 64;

const COMPARE_AND_SET_LUA = `
local got = redis.call('MGET', unpack(KEYS))
local sets, out = {}, {}
for i = 1, #KEYS do
  local raw = got[i]
  if (raw and string.sub(raw, 1, 9) or '') == ARGV[2 * i - 1] then
    sets[#sets + 1] = KEYS[i]
    sets[#sets + 1] = ARGV[2 * i]
    out[i] = 0
  else
    out[i] = 1
  end
end
if #sets > 0 then redis.call('MSET', unpack(sets)) end
return out
`;

async function commandUsec(client: Redis, command: string): Promise<number> {
  const info = await client.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=\\d+,usec=(\\d+)`).exec(info)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const client = new Redis(redis.url);
  const keys = keySpace('surge');
  const out: Record<string, Record<string, number>> = {};
  try {
    // The device script: every batch one reading per device, all in one window bucket; merging
    // the deltas itself, and then checking the heads the store merged (known heads).
    const stores = {
      deviceScript: new RedisAnalyticsStore(client, {
        keyPrefix: 'surge',
        windowTtlSeconds: 86_400,
        mergeKnownHeads: false,
      }),
      knownHeads: new RedisAnalyticsStore(client, { keyPrefix: 'surge', windowTtlSeconds: 86_400 }),
    };
    const base = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS - 6 * BUCKET_MS;
    let offset = 0;
    const batch = (b: number) => {
      const devices: DeviceDelta[] = [];
      for (let d = 0; d < DEVICES; d++) {
        const fold = new DeviceAccumulator(`sensor-${d}`);
        fold.add(
          {
            deviceId: `sensor-${d}`,
            ts: base + b * 1_000 + (d % 900),
            temperature: 20 + (d % 7),
            humidity: 40,
            battery: 80,
            status: 'OK',
            location: { lat: 1, lon: 2 },
            firmware: '1.2.3',
          },
          'iot-data-0',
          offset++,
        );
        devices.push(fold.delta() as DeviceDelta);
      }
      return { devices, partitions: [] };
    };
    let next = 0;
    for (const [name, store] of Object.entries(stores)) {
      // The first batch of each store learns the heads (and, for the first, writes the devices).
      await store.apply(batch(next++));
      const plans = Array.from({ length: BATCHES }, () => batch(next++));
      const usec = await commandUsec(client, 'evalsha');
      const start = performance.now();
      for (const plan of plans) await store.apply(plan);
      out[name] = {
        scriptMicrosecondsPerDevice: (await commandUsec(client, 'evalsha')) - usec,
        wallMicrosecondsPerDevice: (performance.now() - start) * 1_000,
      };
    }

    // The compare-and-set floor, over the values the device script left (same sizes).
    const sha = (await client.script('LOAD', COMPARE_AND_SET_LUA)) as string;
    const deviceKeys = Array.from({ length: DEVICES }, (_, d) => keys.device(`sensor-${d}`));
    const usec = await commandUsec(client, 'evalsha');
    const mgetUsec = await commandUsec(client, 'mget');
    const start = performance.now();
    for (let b = 0; b < BATCHES; b++) {
      const reads = client.pipeline();
      for (let at = 0; at < DEVICES; at += PER_CALL) reads.mgetBuffer(...deviceKeys.slice(at, at + PER_CALL));
      const read = (await reads.exec()) ?? [];
      const writes = client.pipeline();
      read.forEach(([, values], call) => {
        const args: Buffer[] = [];
        for (const value of values as Buffer[]) {
          const next = Buffer.from(value);
          // A write the real merge would make: the count raised, the rest rewritten.
          next.writeDoubleBE(next.readDoubleBE(1) + 1, 1);
          args.push(value.subarray(0, 9), next);
        }
        const callKeys = deviceKeys.slice(call * PER_CALL, (call + 1) * PER_CALL);
        writes.evalsha(sha, callKeys.length, ...callKeys, ...args);
      });
      for (const [error, answers] of (await writes.exec()) ?? []) {
        if (error || (answers as number[]).some((answer) => answer !== 0))
          throw new Error('a write conflicted');
      }
    }
    out.compareAndSetFloor = {
      scriptMicrosecondsPerDevice: (await commandUsec(client, 'evalsha')) - usec,
      mgetMicrosecondsPerDevice: (await commandUsec(client, 'mget')) - mgetUsec,
      wallMicrosecondsPerDevice: (performance.now() - start) * 1_000,
    };
  } finally {
    client.disconnect();
    await redis.stop();
  }
  const perDevice = (x: number) => Math.round((x / (DEVICES * BATCHES)) * 100) / 100;
  console.log(
    JSON.stringify({
      devices: DEVICES,
      batches: BATCHES,
      ...Object.fromEntries(
        Object.entries(out).map(([name, m]) => [
          name,
          Object.fromEntries(Object.entries(m).map(([k, v]) => [k, perDevice(v)])),
        ]),
      ),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
