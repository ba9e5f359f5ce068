import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deviceDelta } from '../../../../functions/analytics/aggregate';
import type { AcceptedRecord } from '../../../../functions/analytics/decode';
import type { DeviceDelta } from '../../../../functions/domain/deltas';
import type { DeviceState } from '../../../../functions/domain/model';
import type { Status, Telemetry } from '../../../../functions/domain/telemetry';
import { decodedStates, RedisAnalyticsStore } from '../../../../functions/shared/redis/analytics-store';
import { BUCKET_MS } from '../../../../functions/shared/redis/layout';
import { telemetry } from '../../../support/records';
import { storeUnderTest } from '../../../support/store-under-test';

/**
 * The merge of a known head on the client (head-merge.ts, known-heads.ts) against the device
 * script's own merge, through real stores over a real redis-server: whatever the batches, their
 * redeliveries and another container writing the same devices, a store that merges known heads
 * leaves every device, and answers every batch, exactly as a store that sends every device as a delta.
 */

const server = storeUnderTest();
const T0 = Date.UTC(2026, 10, 20, 10);
const everything = [0, Number.MAX_SAFE_INTEGER] as const;

// Each store is a container of its own, with its own connection.
const connections: Redis[] = [];
afterAll(() => {
  for (const connection of connections) connection.disconnect();
});

/** Device-script calls the server has run (its EVALSHA count). */
async function evalCalls(): Promise<number> {
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(await server.redis.info('commandstats'))?.[1] ?? 0);
}

function store(prefix: string, mergeKnownHeads: boolean, knownHeadsMax?: number): RedisAnalyticsStore {
  const connection = server.redis.duplicate();
  connections.push(connection);
  return new RedisAnalyticsStore(connection, {
    keyPrefix: prefix,
    windowTtlSeconds: 3600,
    mergeKnownHeads,
    knownHeadsMax,
  });
}

interface Placed {
  readonly reading: Telemetry;
  readonly partition: number;
  readonly offset: number;
}

function deltasOf(placed: readonly Placed[]): DeviceDelta[] {
  const byDevice = new Map<string, AcceptedRecord[]>();
  for (const { reading, partition, offset } of placed) {
    const records = byDevice.get(reading.deviceId) ?? [];
    records.push({
      reading,
      source: { topic: 'iot-data', partition, offset, timestamp: T0, key: null, value: null, headers: [] },
    });
    byDevice.set(reading.deviceId, records);
  }
  return [...byDevice].map(([id, records]) => deviceDelta(id, records) as DeviceDelta);
}

async function applied(target: RedisAnalyticsStore, deltas: DeviceDelta[]) {
  const states: DeviceState[] = [];
  const { devices } = await target.apply({ devices: deltas, partitions: [] }, (s) =>
    states.push(...decodedStates(s)),
  );
  return {
    kinds: devices.map((d) => d.kind),
    states: states.sort((a, b) => a.deviceId.localeCompare(b.deviceId)),
  };
}

const reading = fc.record({
  device: fc.integer({ min: 0, max: 3 }),
  partition: fc.integer({ min: 0, max: 1 }),
  // Mostly the same bucket, sometimes the next one or a late one: rotations and archived buckets.
  second: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 599 }) },
    { weight: 1, arbitrary: fc.integer({ min: -1_800, max: 1_800 }) },
  ),
  temperature: fc.integer({ min: -400, max: 900 }).map((t) => t / 10),
  humidity: fc.integer({ min: 0, max: 100 }),
  battery: fc.integer({ min: 0, max: 100 }),
  status: fc.constantFrom<Status>('OK', 'WARN', 'FAIL'),
  // Short, changing length, and too long for a head's slot.
  firmware: fc.constantFrom('1', '2.0.1', 'x'.repeat(40), 'y'.repeat(300)),
});

// What each step does: a new batch (by this container or another one), or a batch delivered again.
const step = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('new' as const),
      readings: fc.array(reading, { minLength: 1, maxLength: 8 }),
      foreign: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('again' as const), which: fc.nat() }) },
);

describe('merging known heads on the client', () => {
  it('leaves every device and answers every batch as the device script alone does, whatever the batches, redeliveries and other writers', async () => {
    // Two containers each: the one under test and another writing the same devices now and then.
    const merging = { self: store('m', true), other: store('m', true) };
    const plain = { self: store('p', false), other: store('p', false) };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
        // The stores outlive a run while Redis does not: what they know is stale at each run's start.
        await server.redis.flushall();
        const offsets = [0, 0];
        const minute = [0];
        const sent: { placed: Placed[]; foreign: boolean }[] = [];
        for (const s of steps) {
          let batch: { placed: Placed[]; foreign: boolean };
          if (s.kind === 'again') {
            const earlier = sent[s.which % Math.max(1, sent.length)];
            if (earlier === undefined) continue;
            batch = earlier;
          } else {
            minute[0] = (minute[0] as number) + 1;
            batch = {
              foreign: s.foreign,
              placed: s.readings.map((r) => {
                const offset = offsets[r.partition] as number;
                offsets[r.partition] = offset + 1;
                return {
                  partition: r.partition,
                  offset,
                  reading: telemetry({
                    deviceId: `device-${r.device}`,
                    ts: T0 + (minute[0] as number) * 20_000 + r.second * 1_000,
                    temperature: r.temperature,
                    humidity: r.humidity,
                    battery: r.battery,
                    status: r.status,
                    firmware: r.firmware,
                  }),
                };
              }),
            };
            sent.push(batch);
          }
          const deltas = deltasOf(batch.placed);
          const got = await applied(batch.foreign ? merging.other : merging.self, deltas);
          const want = await applied(batch.foreign ? plain.other : plain.self, deltas);
          expect(got).toEqual(want);
        }
        for (let d = 0; d <= 3; d++) {
          const id = `device-${d}`;
          expect(await merging.self.device(id)).toEqual(await plain.self.device(id));
          expect(await merging.self.windows(id, ...everything)).toEqual(
            await plain.self.windows(id, ...everything),
          );
        }
      }),
      { numRuns: 100 },
    );
  });

  it('sends the delta of a device another container moved since, in a second call, and applies it exactly once', async () => {
    const run = async (mergeKnownHeads: boolean) => {
      await server.redis.flushall();
      const self = store('s', mergeKnownHeads);
      const other = store('s', mergeKnownHeads);
      const one = (offset: number, temperature: number) =>
        deltasOf([
          {
            partition: 0,
            offset,
            reading: telemetry({ deviceId: 'moved', ts: T0 + offset * 1_000, temperature }),
          },
        ]);
      await self.apply({ devices: one(0, 10), partitions: [] });
      await self.apply({ devices: one(1, 11), partitions: [] });
      await other.apply({ devices: one(2, 30), partitions: [] });
      const before = await evalCalls();
      const { devices } = await self.apply({ devices: one(3, 12), partitions: [] });
      expect(devices.map((d) => d.kind)).toEqual(['applied']);
      expect(await self.device('moved')).toMatchObject({
        count: 4,
        temperature: { min: 10, max: 30, mean: 63 / 4 },
        last: { temperature: 12 },
      });
      return (await evalCalls()) - before;
    };
    // The known head was stale: one call merged on the client, answered STALE, then the delta.
    expect(await run(true)).toBe(2);
    // The escape hatch: every device goes as a delta, so there is nothing to find stale.
    expect(await run(false)).toBe(1);
  });

  it('keeps the heads of as many devices as it is told, and sends the others as deltas', async () => {
    const one = (deviceId: string, offset: number, temperature: number) =>
      deltasOf([
        { partition: 0, offset, reading: telemetry({ deviceId, ts: T0 + offset * 1_000, temperature }) },
      ]);
    // Device a, then device b, in a container that keeps `max` heads; another container moves a.
    const run = async (max: number) => {
      await server.redis.flushall();
      const self = store('k', true, max);
      const other = store('k', true);
      await self.apply({ devices: one('a', 0, 10), partitions: [] });
      await self.apply({ devices: one('b', 1, 10), partitions: [] });
      await other.apply({ devices: one('a', 2, 30), partitions: [] });
      const before = await evalCalls();
      const { devices } = await self.apply({ devices: one('a', 3, 12), partitions: [] });
      expect(devices.map((d) => d.kind)).toEqual(['applied']);
      expect(await self.device('a')).toMatchObject({ count: 3, temperature: { min: 10, max: 30 } });
      return (await evalCalls()) - before;
    };
    // Both heads kept: a's is stale, so a merge answered STALE, then the delta.
    expect(await run(2)).toBe(2);
    // One head kept: b's took the place of a's, so a goes as a delta at once.
    expect(await run(1)).toBe(1);
  });

  it('answers a device whose known head has since turned unreadable as the script does: left as it is', async () => {
    const self = store('u', true);
    const one = (offset: number) =>
      deltasOf([
        { partition: 0, offset, reading: telemetry({ deviceId: 'spoiled', ts: T0 + offset * 1_000 }) },
      ]);
    await self.apply({ devices: one(0), partitions: [] });
    await server.redis.set('u:dev:{spoiled}', Buffer.from([3, 1, 2]));
    const { devices } = await self.apply({ devices: one(1), partitions: [] });
    expect(devices[0]).toMatchObject({ kind: 'unreadable' });
    expect(await server.redis.getBuffer('u:dev:{spoiled}')).toEqual(Buffer.from([3, 1, 2]));
  });

  it('merges a delta into the bucket its known head says is current, and sends a delta that starts a newer bucket', async () => {
    const self = store('r', true);
    const plain = store('q', false);
    for (const [offset, ts] of [
      [0, T0],
      [1, T0 + 1_000],
      [2, T0 + BUCKET_MS],
      [3, T0 + BUCKET_MS + 1_000],
    ] as const) {
      const deltas = deltasOf([{ partition: 0, offset, reading: telemetry({ deviceId: 'rotating', ts }) }]);
      await self.apply({ devices: deltas, partitions: [] });
      await plain.apply({ devices: deltas, partitions: [] });
    }
    expect(await self.windows('rotating', ...everything)).toEqual(
      await plain.windows('rotating', ...everything),
    );
    expect((await self.windows('rotating', ...everything)).map((w) => w.count)).toEqual([2, 2]);
  });
});
