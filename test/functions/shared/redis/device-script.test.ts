import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deviceDelta } from '../../../../functions/analytics/aggregate';
import type { AcceptedRecord } from '../../../../functions/analytics/decode';
import type { DeviceDelta } from '../../../../functions/domain/deltas';
import type { Telemetry } from '../../../../functions/domain/telemetry';
import { type DeviceOutcome, RedisAnalyticsStore } from '../../../../functions/shared/redis/analytics-store';
import { keySpace } from '../../../../functions/shared/redis/keys';
import { pack } from '../../../../functions/shared/redis/msgpack';
import { BUCKET_MS, STATE_NUMBERS } from '../../../../functions/shared/redis/scripts';
import { type LocalRedis, startRedis } from '../../../../local/redis/redis-server';
import { expectAggregatesEqual, expectedDevice } from '../../../support/expected-aggregates';
import { telemetry } from '../../../support/records';

/** The device script (APPLY_DEVICES_LUA) through the store, against a real redis-server. */

let local: LocalRedis;
let redis: Redis;
let store: RedisAnalyticsStore;
const keys = keySpace('surge');
const T0 = Date.UTC(2026, 10, 20, 10);

beforeAll(async () => {
  local = await startRedis();
  redis = new Redis(local.url);
  store = new RedisAnalyticsStore(redis, { keyPrefix: 'surge', windowTtlSeconds: 3600 });
});

afterAll(async () => {
  redis?.disconnect();
  await local?.stop();
});

beforeEach(async () => {
  await redis.flushall();
});

function accepted(reading: Telemetry, offset: number, partition = 0): AcceptedRecord {
  return {
    reading,
    source: { topic: 'iot-data', partition, offset, timestamp: T0, key: null, value: null, headers: [] },
  };
}

function delta(deviceId: string, readings: { reading: Partial<Telemetry>; offset: number }[]): DeviceDelta {
  const built = deviceDelta(
    deviceId,
    readings.map(({ reading, offset }) => accepted(telemetry({ deviceId, ts: T0, ...reading }), offset)),
  );
  if (built === undefined) throw new Error('no delta');
  return built;
}

async function apply(...deltas: DeviceDelta[]): Promise<DeviceOutcome[]> {
  return (await store.apply({ devices: deltas, partitions: [] })).devices as DeviceOutcome[];
}

const placed = (deviceId: string, offset: number, reading: Partial<Telemetry>) => ({
  reading: telemetry({ deviceId, ts: T0, ...reading }),
  partition: 0,
  offset,
});

describe('the device script', () => {
  it('applies the devices around one whose state is unreadable, and leaves that one as it was', async () => {
    await redis.set(keys.device('broken'), Buffer.from([2, 1, 2, 3]));
    const outcomes = await apply(
      delta('before', [{ reading: { temperature: 10 }, offset: 0 }]),
      delta('broken', [{ reading: { temperature: 11 }, offset: 1 }]),
      delta('after', [{ reading: { temperature: 12 }, offset: 2 }]),
    );
    expect(outcomes.map((o) => o.kind)).toEqual(['applied', 'unreadable', 'applied']);
    expect(outcomes[1]).toMatchObject({
      error: expect.stringMatching(/device state surge:dev:\{broken\} is unreadable/),
    });
    expect(await redis.getBuffer(keys.device('broken'))).toEqual(Buffer.from([2, 1, 2, 3]));
    expect(await redis.exists(keys.windowIndex('broken'))).toBe(0);
    expect((await store.device('after'))?.temperature.max).toBe(12);
  });

  it.each([
    [
      'a device key of another type',
      async (id: string) =>
        void (await redis.multi().del(keys.device(id)).hset(keys.device(id), 'x', '1').exec()),
    ],
    [
      'a state in an unknown format',
      async (id: string) => void (await redis.set(keys.device(id), Buffer.from([9]))),
    ],
    [
      'a window bucket of the wrong size',
      async (id: string) =>
        void (await redis.set(keys.windowBucket(id, Math.floor(T0 / BUCKET_MS) * BUCKET_MS), 'short')),
    ],
    [
      'a window bucket of another type',
      async (id: string) =>
        void (await redis.rpush(keys.windowBucket(id, Math.floor(T0 / BUCKET_MS) * BUCKET_MS), 'x')),
    ],
    [
      'a window index of another type',
      async (id: string) => void (await redis.set(keys.windowIndex(id), 'x')),
    ],
  ])('answers UNREADABLE for %s without writing anything of that device', async (_case, spoil) => {
    await apply(delta('dev', [{ reading: { temperature: 5, ts: T0 - 3 * BUCKET_MS }, offset: 0 }]));
    await spoil('dev');
    const before = await redis.dump(keys.device('dev'));
    const outcomes = await apply(
      delta('dev', [{ reading: { temperature: 6 }, offset: 1 }]),
      delta('other', [{ reading: { temperature: 7 }, offset: 2 }]),
    );
    expect(outcomes.map((o) => o.kind)).toEqual(['unreadable', 'applied']);
    expect(await redis.dump(keys.device('dev'))).toEqual(before);
    expect((await store.device('other'))?.count).toBe(1);
  });

  it('reads a format-1 state (last reading as MessagePack) and rewrites it as format 2 when it next applies', async () => {
    // A format-1 state as the scripts before format 2 wrote it: one reading at offset 0.
    const first = telemetry({
      deviceId: 'old',
      ts: T0,
      temperature: 20,
      location: { lat: 1.5, lon: -2.25 },
      firmware: 'v1.0',
    });
    const numbers: Record<string, number> = {
      count: 1,
      temperatureMin: 20,
      temperatureMax: 20,
      temperatureSum: 20,
      humidityMin: first.humidity,
      humidityMax: first.humidity,
      humiditySum: first.humidity,
      batteryMin: first.battery,
      statusOk: 1,
      statusWarn: 0,
      statusFail: 0,
      firstTs: T0,
      lastTs: T0,
      lastOffset: 0,
    };
    const last = pack([T0, 20, first.humidity, first.battery, 'OK', [1.5, -2.25], 'v1.0']);
    const parts: Buffer[] = [Buffer.from([1])];
    for (const [name] of STATE_NUMBERS) {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(numbers[name] as number);
      parts.push(b);
    }
    const watermark = Buffer.alloc(2 + 10 + 8);
    watermark.writeUInt16BE(10, 0);
    watermark.write('iot-data-0', 2);
    watermark.writeDoubleBE(0, 12);
    parts.push(Buffer.from([last.length >> 8, last.length & 0xff]), last, Buffer.from([0, 1]), watermark);
    await redis.set(keys.device('old'), Buffer.concat(parts));

    expectAggregatesEqual(
      await store.device('old'),
      expectedDevice([{ reading: first, partition: 0, offset: 0 }]),
    );
    // A later reading that is not the last one keeps the format-1 last reading, now in format 2.
    const earlier = { temperature: 30, ts: T0 - 60_000 };
    const outcomes = await apply(delta('old', [{ reading: earlier, offset: 1 }]));
    expect(outcomes[0]?.kind).toBe('applied');
    expect((await redis.getBuffer(keys.device('old')))?.[0]).toBe(2);
    expectAggregatesEqual(
      await store.device('old'),
      expectedDevice([{ reading: first, partition: 0, offset: 0 }, placed('old', 1, earlier)]),
    );
    // Applying again is a duplicate: the migrated state kept its watermark.
    expect((await apply(delta('old', [{ reading: earlier, offset: 1 }])))[0]?.kind).toBe('duplicate');
  });

  it('writes the next call exactly when the call before it threw while encoding', async () => {
    const hostile = delta('hostile', [{ reading: { firmware: 'f'.repeat(70_000) }, offset: 0 }]);
    await expect(apply(hostile)).rejects.toThrow(/16/);
    await apply(delta('fresh', [{ reading: { temperature: 30.263 }, offset: 1 }]));
    const state = await store.device('fresh');
    expect(state?.temperature).toEqual({ min: 30.263, max: 30.263, mean: 30.263 });
    expect(state?.count).toBe(1);
    expect(await store.device('hostile')).toBeUndefined();
  });

  it('indexes a bucket again whenever it refreshes its expiry, so a lost index entry comes back within the expiry slack', async () => {
    // TTL 1 s: the expiry slack is 100 ms, so the second touch, 250 ms later, refreshes the bucket.
    const short = new RedisAnalyticsStore(redis, { keyPrefix: 'surge', windowTtlSeconds: 1 });
    const now = Date.now();
    const at = (offset: number, temperature: number) => ({
      reading: { temperature, ts: now + offset },
      offset,
    });
    await short.apply({ devices: [delta('idx', [at(0, 1)])], partitions: [] });
    await redis.del(keys.windowIndex('idx'));
    await short.apply({ devices: [delta('idx', [at(1, 2)])], partitions: [] });
    // Within the slack the bucket needs no refresh, and the index is left as it is.
    expect(await redis.exists(keys.windowIndex('idx'))).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await short.apply({ devices: [delta('idx', [at(2, 3)])], partitions: [] });
    const windows = await short.windows('idx', 0, Number.MAX_SAFE_INTEGER);
    expect(windows.reduce((n, w) => n + w.count, 0)).toBe(3);
  });

  it('drops index entries of expired buckets when it creates a bucket, and readers write nothing', async () => {
    const old = T0 - 5 * BUCKET_MS;
    await apply(delta('prune', [{ reading: { ts: old }, offset: 0 }]));
    await redis.del(keys.windowBucket('prune', Math.floor(old / BUCKET_MS) * BUCKET_MS));
    expect(await store.windows('prune', 0, Number.MAX_SAFE_INTEGER)).toEqual([]);
    // The reader left the stale entry alone (it may run as a read-only user).
    expect(await redis.zcard(keys.windowIndex('prune'))).toBe(1);
    await apply(delta('prune', [{ reading: { ts: T0 }, offset: 1 }]));
    expect(await redis.zrange(keys.windowIndex('prune'), 0, -1)).toEqual([
      String(Math.floor(T0 / BUCKET_MS) * BUCKET_MS),
    ]);
  });

  it('loads its scripts again when Redis has lost them (NOSCRIPT) and applies the batch once', async () => {
    await apply(delta('noscript', [{ reading: {}, offset: 0 }]));
    await redis.script('FLUSH');
    const outcomes = await apply(delta('noscript', [{ reading: {}, offset: 1 }]));
    expect(outcomes[0]?.kind).toBe('applied');
    expect((await store.device('noscript'))?.count).toBe(2);
  });
});
