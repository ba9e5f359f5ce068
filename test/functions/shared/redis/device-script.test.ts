import { encode as packMessagePack } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { deviceDelta } from '../../../../functions/analytics/aggregate';
import type { AcceptedRecord } from '../../../../functions/analytics/decode';
import type { DeviceDelta } from '../../../../functions/domain/deltas';
import type { Telemetry } from '../../../../functions/domain/telemetry';
import {
  type DeviceOutcome,
  decodedStates,
  RedisAnalyticsStore,
} from '../../../../functions/shared/redis/analytics-store';
import { BinaryWriter } from '../../../../functions/shared/redis/binary';
import { bucketsOf } from '../../../../functions/shared/redis/delta-buckets';
import { DeviceCalls } from '../../../../functions/shared/redis/device-calls';
import { APPLY_DEVICES_LUA } from '../../../../functions/shared/redis/device-script';
import {
  ARCHIVED_BUCKET_BYTES,
  BUCKET_MS,
  CURRENT_BUCKET_BYTES,
  keySpace,
  STATE_NUMBERS,
  STATE_VERSION,
  STATE_VERSION_ARCHIVED_ONLY,
} from '../../../../functions/shared/redis/layout';
import { writeDelta } from '../../../../functions/shared/redis/state-codec';
import { expectAggregatesEqual, expectedDevice } from '../../../support/expected-aggregates';
import { telemetry } from '../../../support/records';
import { storeUnderTest } from '../../../support/store-under-test';

/** The device script (device-script.ts) through the store, against a real redis-server. */

const server = storeUnderTest();
const keys = keySpace('surge');
const T0 = Date.UTC(2026, 10, 20, 10);
const bucketOf = (ts: number) => Math.floor(ts / BUCKET_MS) * BUCKET_MS;
const everything = [0, Number.MAX_SAFE_INTEGER] as const;

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
  return (await server.store.apply({ devices: deltas, partitions: [] })).devices as DeviceOutcome[];
}

const placed = (deviceId: string, offset: number, reading: Partial<Telemetry>) => ({
  reading: telemetry({ deviceId, ts: T0, ...reading }),
  partition: 0,
  offset,
});

describe('the device script', () => {
  it('applies the devices around one whose state is unreadable, and leaves that one as it was', async () => {
    await server.redis.set(keys.device('broken'), Buffer.from([2, 1, 2, 3]));
    const outcomes = await apply(
      delta('before', [{ reading: { temperature: 10 }, offset: 0 }]),
      delta('broken', [{ reading: { temperature: 11 }, offset: 1 }]),
      delta('after', [{ reading: { temperature: 12 }, offset: 2 }]),
    );
    expect(outcomes.map((o) => o.kind)).toEqual(['applied', 'unreadable', 'applied']);
    expect(outcomes[1]).toMatchObject({
      error: expect.stringMatching(/device state surge:dev:\{broken\} is unreadable/),
    });
    expect(await server.redis.getBuffer(keys.device('broken'))).toEqual(Buffer.from([2, 1, 2, 3]));
    expect(await server.redis.exists(keys.windowIndex('broken'))).toBe(0);
    expect((await server.store.device('after'))?.temperature.max).toBe(12);
  });

  it.each([
    [
      'a device key of another type',
      async (id: string) =>
        void (await server.redis.multi().del(keys.device(id)).hset(keys.device(id), 'x', '1').exec()),
    ],
    [
      'a state in an unknown format',
      async (id: string) => void (await server.redis.set(keys.device(id), Buffer.from([9]))),
    ],
    [
      'a device value with bytes after its current bucket',
      async (id: string) => void (await server.redis.append(keys.device(id), 'x')),
    ],
    [
      'an archived window bucket of the wrong size',
      async (id: string) =>
        void (await server.redis.set(keys.windowBucket(id, bucketOf(T0 - 3 * BUCKET_MS)), 'short')),
    ],
    [
      'an archived window bucket of another type',
      async (id: string) =>
        void (await server.redis.rpush(keys.windowBucket(id, bucketOf(T0 - 3 * BUCKET_MS)), 'x')),
    ],
    [
      'a window index of another type',
      async (id: string) => void (await server.redis.set(keys.windowIndex(id), 'x')),
    ],
  ])('answers UNREADABLE for %s without writing anything of that device', async (_case, spoil) => {
    await apply(delta('dev', [{ reading: { temperature: 5, ts: T0 - 3 * BUCKET_MS }, offset: 0 }]));
    await spoil('dev');
    const before = await server.redis.dump(keys.device('dev'));
    const outcomes = await apply(
      delta('dev', [{ reading: { temperature: 6 }, offset: 1 }]),
      delta('other', [{ reading: { temperature: 7 }, offset: 2 }]),
    );
    expect(outcomes.map((o) => o.kind)).toEqual(['unreadable', 'applied']);
    expect(await server.redis.dump(keys.device('dev'))).toEqual(before);
    expect((await server.store.device('other'))?.count).toBe(1);
  });

  it('reads a format-1 state (last reading as MessagePack) and rewrites it as format 3 when it next applies', async () => {
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
    const last = Buffer.from(
      packMessagePack([T0, 20, first.humidity, first.battery, 'OK', [1.5, -2.25], 'v1.0']),
    );
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
    await server.redis.set(keys.device('old'), Buffer.concat(parts));

    expectAggregatesEqual(
      await server.store.device('old'),
      expectedDevice([{ reading: first, partition: 0, offset: 0 }]),
    );
    // A later reading that is not the last one keeps the format-1 last reading, now in format 3.
    const earlier = { temperature: 30, ts: T0 - 60_000 };
    const outcomes = await apply(delta('old', [{ reading: earlier, offset: 1 }]));
    expect(outcomes[0]?.kind).toBe('applied');
    expect((await server.redis.getBuffer(keys.device('old')))?.[0]).toBe(STATE_VERSION);
    expectAggregatesEqual(
      await server.store.device('old'),
      expectedDevice([{ reading: first, partition: 0, offset: 0 }, placed('old', 1, earlier)]),
    );
    // Applying again is a duplicate: the migrated state kept its watermark.
    expect((await apply(delta('old', [{ reading: earlier, offset: 1 }])))[0]?.kind).toBe('duplicate');
  });

  it('writes the next call exactly when the call before it threw while encoding', async () => {
    const hostile = delta('hostile', [{ reading: { firmware: 'f'.repeat(70_000) }, offset: 0 }]);
    await expect(apply(hostile)).rejects.toThrow(/16/);
    await apply(delta('fresh', [{ reading: { temperature: 30.263 }, offset: 1 }]));
    const state = await server.store.device('fresh');
    expect(state?.temperature).toEqual({ min: 30.263, max: 30.263, mean: 30.263 });
    expect(state?.count).toBe(1);
    expect(await server.store.device('hostile')).toBeUndefined();
  });

  it('keeps a device that reports in one bucket under its one key: no archived bucket, no index', async () => {
    await apply(delta('one', [{ reading: { temperature: 1 }, offset: 0 }]));
    await apply(delta('one', [{ reading: { temperature: 3, ts: T0 + 60_000 }, offset: 1 }]));
    await apply(delta('one', [{ reading: { temperature: 5, ts: T0 + 1_000 }, offset: 2 }]));
    expect(await server.redis.keys('*{one}*')).toEqual([keys.device('one')]);
    const value = (await server.redis.getBuffer(keys.device('one'))) as Buffer;
    expect(value.readDoubleBE(value.length - CURRENT_BUCKET_BYTES)).toBe(bucketOf(T0));
    expect(await server.store.windows('one', ...everything)).toEqual([
      { start: T0, count: 2, temperature: { min: 1, max: 5, mean: 3 } },
      { start: T0 + 60_000, count: 1, temperature: { min: 3, max: 3, mean: 3 } },
    ]);
  });

  it('archives the current bucket under its own key when a newer one starts, and merges late readings into it', async () => {
    const older = T0 - BUCKET_MS;
    await apply(delta('rot', [{ reading: { ts: older, temperature: 1 }, offset: 0 }]));
    await apply(delta('rot', [{ reading: { ts: T0, temperature: 2 }, offset: 1 }]));
    expect(await server.redis.zrange(keys.windowIndex('rot'), 0, -1)).toEqual([String(bucketOf(older))]);
    expect((await server.redis.getBuffer(keys.windowBucket('rot', bucketOf(older))))?.length).toBe(
      ARCHIVED_BUCKET_BYTES,
    );
    // A late reading for the archived bucket, and one older than any bucket so far.
    const oldest = T0 - 3 * BUCKET_MS;
    await apply(
      delta('rot', [
        { reading: { ts: older, temperature: 5 }, offset: 2 },
        { reading: { ts: oldest, temperature: 7 }, offset: 3 },
      ]),
    );
    expect(
      (await server.store.windows('rot', ...everything)).map((w) => [w.start, w.count, w.temperature.max]),
    ).toEqual([
      [oldest, 1, 7],
      [older, 2, 5],
      [T0, 1, 2],
    ]);
    expect((await server.store.device('rot'))?.count).toBe(4);
  });

  it('writes the devices before a malformed one whole when the call fails, so that the retry finds them applied and archives nothing twice', async () => {
    const older = T0 - BUCKET_MS;
    await apply(delta('rot', [{ reading: { ts: older, temperature: 1 }, offset: 0 }]));
    // In one call: 'rot' moves to a newer bucket (its current one is archived), then a delta the
    // script refuses (readings without windows) fails the whole call.
    const rotating = delta('rot', [{ reading: { ts: T0, temperature: 2 }, offset: 1 }]);
    const malformed = { ...delta('bad', [{ reading: {}, offset: 2 }]), windows: [] };
    await expect(apply(rotating, malformed)).rejects.toThrow(/has no windows/);
    expect((await server.store.device('rot'))?.count).toBe(2);
    expect(await server.store.device('bad')).toBeUndefined();
    // The batch's retry, without the malformed delta.
    expect((await apply(rotating)).map((o) => o.kind)).toEqual(['duplicate']);
    expect((await server.store.windows('rot', ...everything)).map((w) => [w.start, w.count])).toEqual([
      [older, 1],
      [T0, 1],
    ]);
  });

  it.each([
    [
      'an unknown mode',
      (entry: Buffer) => Buffer.concat([Buffer.from([7]), entry.subarray(1)]),
      /has mode 7/,
    ],
    ['a truncated merged head', () => Buffer.from([1, 0, 50, 1, 2, 3]), /data string too short/],
    [
      'merged minutes cut short',
      () =>
        new BinaryWriter()
          .u8(1)
          .u16(1)
          .raw(Buffer.from([3]))
          .u16(1)
          .raw(Buffer.from([3]))
          .u8(2)
          .take(),
      /truncated/,
    ],
  ])('fails a call whose device entry has %s, writing nothing', async (_, spoil, message) => {
    const out = new BinaryWriter();
    const d = delta('spoilt', [{ reading: {}, offset: 0 }]);
    writeDelta(out, d, bucketsOf(d.windows), []);
    const entry = spoil(out.take());
    await expect(
      server.redis.eval(APPLY_DEVICES_LUA, 1, keys.device('spoilt'), entry, 3_600_000, 1, 360_000),
    ).rejects.toThrow(message);
    expect(await server.redis.exists(keys.device('spoilt'))).toBe(0);
  });

  it('applies a call of more devices than one MGET or MSET may carry from Lua (5,000), every one of them', async () => {
    // The store sends 64 devices per call; the script itself takes any number, in slices.
    const deltas = Array.from({ length: 5_000 }, (_, i) =>
      delta(`many-${i}`, [{ reading: { temperature: i / 100 }, offset: i }]),
    );
    const out = new BinaryWriter();
    for (const d of deltas) writeDelta(out, d, bucketsOf(d.windows), []);
    const ids = deltas.map((d) => keys.device(d.deviceId));
    await server.redis.eval(
      APPLY_DEVICES_LUA,
      ids.length,
      ...ids,
      out.take(),
      3_600_000,
      ids.length,
      360_000,
    );
    expect(await server.redis.exists(...ids)).toBe(5_000);
    expect((await server.store.device('many-4999'))?.temperature.max).toBe(49.99);
  });

  it('drops a current bucket whose minutes have all expired instead of archiving it', async () => {
    const short = new RedisAnalyticsStore(server.redis, { keyPrefix: 'surge', windowTtlSeconds: 0.2 });
    await short.apply({
      devices: [delta('gone', [{ reading: { ts: T0 - BUCKET_MS }, offset: 0 }])],
      partitions: [],
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await short.apply({ devices: [delta('gone', [{ reading: { ts: T0 }, offset: 1 }])], partitions: [] });
    expect(await server.redis.keys('*{gone}*')).toEqual([keys.device('gone')]);
    expect((await short.windows('gone', ...everything)).map((w) => w.start)).toEqual([T0]);
  });

  it("moves a format-2 device's archived bucket into its current bucket when it next applies there", async () => {
    // Format 2 kept every bucket archived: make one from a format-3 value by taking its current bucket out.
    await apply(delta('v2', [{ reading: { temperature: 4 }, offset: 0 }]));
    const value = (await server.redis.getBuffer(keys.device('v2'))) as Buffer;
    const state = Buffer.from(value.subarray(0, value.length - CURRENT_BUCKET_BYTES));
    state[0] = STATE_VERSION_ARCHIVED_ONLY;
    const header = Buffer.alloc(8);
    header.writeDoubleBE(Date.now() + 3_600_000);
    const archived = Buffer.concat([header, value.subarray(value.length - CURRENT_BUCKET_BYTES + 8)]);
    await server.redis.set(keys.device('v2'), state);
    await server.redis.set(keys.windowBucket('v2', bucketOf(T0)), archived, 'PX', 3_600_000);
    await server.redis.zadd(keys.windowIndex('v2'), bucketOf(T0), bucketOf(T0));
    expect((await server.store.windows('v2', ...everything)).map((w) => w.count)).toEqual([1]);

    const outcomes = await apply(delta('v2', [{ reading: { temperature: 6 }, offset: 1 }]));
    expect(outcomes[0]?.kind).toBe('applied');
    expect((await server.redis.getBuffer(keys.device('v2')))?.[0]).toBe(STATE_VERSION);
    expect(await server.redis.exists(keys.windowBucket('v2', bucketOf(T0)))).toBe(0);
    expect(await server.redis.zcard(keys.windowIndex('v2'))).toBe(0);
    expect(await server.store.windows('v2', ...everything)).toEqual([
      { start: T0, count: 2, temperature: { min: 4, max: 6, mean: 5 } },
    ]);
  });

  it('answers PARTIAL with the watermark for a delta that overlaps what was applied, and writes nothing', async () => {
    await apply(
      delta('part', [
        { reading: {}, offset: 0 },
        { reading: {}, offset: 1 },
      ]),
    );
    const before = await server.redis.dump(keys.device('part'));
    const outcomes = await apply(
      delta('part', [
        { reading: {}, offset: 1 },
        { reading: {}, offset: 2 },
      ]),
    );
    expect(outcomes[0]).toEqual({ kind: 'partial', watermarks: new Map([['iot-data-0', 1]]) });
    expect(await server.redis.dump(keys.device('part'))).toEqual(before);
  });

  it('indexes an archived bucket again whenever it refreshes its expiry, so a lost index entry comes back within the expiry slack', async () => {
    // TTL 1 s: the expiry slack is 100 ms, so the touch 250 ms later refreshes the archived bucket.
    const short = new RedisAnalyticsStore(server.redis, { keyPrefix: 'surge', windowTtlSeconds: 1 });
    const older = T0 - BUCKET_MS;
    const at = (offset: number, ts: number) => ({ reading: { ts }, offset });
    await short.apply({ devices: [delta('idx', [at(0, older)])], partitions: [] });
    await short.apply({ devices: [delta('idx', [at(1, T0)])], partitions: [] });
    await server.redis.del(keys.windowIndex('idx'));
    await short.apply({ devices: [delta('idx', [at(2, older)])], partitions: [] });
    // Within the slack the archived bucket needs no refresh, and the index is left as it is.
    expect(await server.redis.exists(keys.windowIndex('idx'))).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await short.apply({ devices: [delta('idx', [at(3, older)])], partitions: [] });
    const windows = await short.windows('idx', ...everything);
    expect(windows.map((w) => [w.start, w.count])).toEqual([
      [older, 3],
      [T0, 1],
    ]);
    expect(await server.redis.zrange(keys.windowIndex('idx'), 0, -1)).toEqual([String(bucketOf(older))]);
  });

  it('drops index entries of expired archived buckets when it archives another, and readers write nothing', async () => {
    const [b1, b2] = [T0 - 5 * BUCKET_MS, T0 - 4 * BUCKET_MS];
    await apply(delta('prune', [{ reading: { ts: b1 }, offset: 0 }]));
    await apply(delta('prune', [{ reading: { ts: b2 }, offset: 1 }]));
    await server.redis.del(keys.windowBucket('prune', bucketOf(b1)));
    expect((await server.store.windows('prune', ...everything)).map((w) => w.start)).toEqual([b2]);
    // The reader left the stale entry alone (it may run as a read-only user).
    expect(await server.redis.zcard(keys.windowIndex('prune'))).toBe(1);
    await apply(delta('prune', [{ reading: { ts: T0 }, offset: 2 }]));
    expect(await server.redis.zrange(keys.windowIndex('prune'), 0, -1)).toEqual([String(bucketOf(b2))]);
  });

  it('applies a device that asks for more keys than its first call declared exactly once, with the devices around it', async () => {
    await apply(delta('late', [{ reading: { ts: T0 }, offset: 0 }]));
    // Two buckets older than the current one: the first call declares only the older of the two.
    const outcomes = await apply(
      delta('before', [{ reading: {}, offset: 5 }]),
      delta('late', [
        { reading: { ts: T0 - 2 * BUCKET_MS }, offset: 1 },
        { reading: { ts: T0 - BUCKET_MS }, offset: 2 },
      ]),
      delta('after', [{ reading: {}, offset: 6 }]),
    );
    expect(outcomes.map((o) => o.kind)).toEqual(['applied', 'applied', 'applied']);
    expect((await server.store.device('late'))?.count).toBe(3);
    expect((await server.store.windows('late', ...everything)).map((w) => w.count)).toEqual([1, 1, 1]);
  });

  it('declares what the script will archive from the bucket the device last reported, so a warm store rotates or takes late readings in one call', async () => {
    const evalCalls = async () =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await server.redis.info('commandstats'))?.[1] ?? 0);
    await apply(delta('warm', [{ reading: { ts: T0 - BUCKET_MS }, offset: 0 }]));
    let before = await evalCalls();
    await apply(delta('warm', [{ reading: { ts: T0 }, offset: 1 }]));
    expect(await evalCalls()).toBe(before + 1);
    // A store that has not seen the device (a new container) learns the bucket from the script's answer.
    const cold = new RedisAnalyticsStore(server.redis, { keyPrefix: 'surge', windowTtlSeconds: 3600 });
    before = await evalCalls();
    await cold.apply({
      devices: [delta('warm', [{ reading: { ts: T0 + BUCKET_MS }, offset: 2 }])],
      partitions: [],
    });
    expect(await evalCalls()).toBe(before + 2);
    // Late readings, older than the current bucket: the hint says they go to archived buckets.
    before = await evalCalls();
    await cold.apply({
      devices: [delta('warm', [{ reading: { ts: T0 - 2 * BUCKET_MS }, offset: 3 }])],
      partitions: [],
    });
    expect(await evalCalls()).toBe(before + 1);
    expect((await server.store.windows('warm', ...everything)).map((w) => w.start)).toEqual([
      T0 - 2 * BUCKET_MS,
      T0 - BUCKET_MS,
      T0,
      T0 + BUCKET_MS,
    ]);
  });

  it.each([300, 9_000])(
    'applies a delta whose readings fall in %i window buckets, more than one call can unpack at once',
    async (buckets) => {
      // Backfilled history: one reading per bucket, every one older than the device's current bucket.
      await apply(delta('history', [{ reading: { ts: T0 }, offset: 0 }]));
      const readings = Array.from({ length: buckets }, (_, i) => ({
        reading: { ts: T0 - (i + 1) * BUCKET_MS },
        offset: i + 1,
      }));
      const cold = new RedisAnalyticsStore(server.redis, { keyPrefix: 'surge', windowTtlSeconds: 3600 });
      const [outcome] = (await cold.apply({ devices: [delta('history', readings)], partitions: [] })).devices;
      expect(outcome?.kind).toBe('applied');
      expect((await server.store.device('history'))?.count).toBe(buckets + 1);
      expect((await server.store.windows('history', ...everything)).length).toBe(buckets + 1);
    },
  );

  it('loads its scripts again when Redis has lost them (NOSCRIPT) and applies the batch once', async () => {
    await apply(delta('noscript', [{ reading: {}, offset: 0 }]));
    await server.redis.script('FLUSH');
    const delivered: string[] = [];
    const { devices } = await server.store.apply(
      { devices: [delta('noscript', [{ reading: {}, offset: 1 }])], partitions: [] },
      (states) => delivered.push(...decodedStates(states).map((state) => state.deviceId)),
    );
    expect(devices[0]?.kind).toBe('applied');
    expect(delivered).toEqual(['noscript']);
    expect((await server.store.device('noscript'))?.count).toBe(2);
  });

  it('delivers the state of every device once, the devices of a call answered again and one that asked for keys included', async () => {
    await apply(delta('late', [{ reading: { ts: T0 }, offset: 0 }]));
    const ids = Array.from({ length: 130 }, (_, i) => `fleet-${i}`);
    const deltas = ids.map((id, i) => delta(id, [{ reading: {}, offset: 10 + i }]));
    // Two buckets older than the current one: its first call declares too little.
    deltas.splice(
      70,
      0,
      delta('late', [
        { reading: { ts: T0 - 2 * BUCKET_MS }, offset: 1 },
        { reading: { ts: T0 - BUCKET_MS }, offset: 2 },
      ]),
    );
    const delivered: string[] = [];
    const calls = new DeviceCalls(keys, 3_600_000, 360_000, false);
    const [call] = calls.calls(
      deltas.slice(0, 3).map((d) => calls.firstWork(d)),
      (states) => delivered.push(...decodedStates(states).map((state) => state.deviceId)),
    );
    // One call's reply parsed twice, as a call sent again after NOSCRIPT is: its states go out once.
    const pipeline = server.redis.pipeline();
    call?.command.add(pipeline);
    const [[error, reply]] = (await pipeline.exec()) as [[Error | null, unknown]];
    expect(error).toBeNull();
    call?.command.parse?.(reply);
    call?.command.parse?.(reply);
    expect(delivered).toEqual(['fleet-0', 'fleet-1', 'fleet-2']);

    delivered.length = 0;
    await server.store.apply({ devices: deltas.slice(3), partitions: [] }, (states) =>
      delivered.push(...decodedStates(states).map((state) => state.deviceId)),
    );
    expect([...delivered].sort()).toEqual([...ids.slice(3), 'late'].sort());
    expect((await server.store.device('late'))?.count).toBe(3);
  });
});
