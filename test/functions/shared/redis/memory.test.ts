import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnalyticsContainer, createAnalyticsContainer } from '../../../../functions/analytics/container';
import { createAnalyticsHandler } from '../../../../functions/analytics/handler';
import { DEFAULT_TOPICS } from '../../../../functions/shared/config';
import { RedisError } from '../../../../functions/shared/errors';
import { RedisAnalyticsReader } from '../../../../functions/shared/redis/analytics-reader';
import { RedisAnalyticsStore } from '../../../../functions/shared/redis/analytics-store';
import { BUCKET_MS, keySpace } from '../../../../functions/shared/redis/layout';
import { type MockKafka, startMockKafka } from '../../../../local/kafka/mock-cluster';
import { buildMskEvent } from '../../../../local/msk-event';
import { type LocalRedis, startRedis } from '../../../../local/redis/redis-server';
import { expectAggregatesEqual, expectedDevice } from '../../../support/expected-aggregates';
import { type PlacedReading, telemetry, telemetryRecord } from '../../../support/records';

/** A cache out of memory under noeviction (the parameter group Surge deploys): loud, retried, never half-applied. */

let redis: LocalRedis;
let kafka: MockKafka;
let client: Redis;
let container: AnalyticsContainer;

beforeAll(async () => {
  [redis, kafka] = await Promise.all([
    startRedis({ args: ['--maxmemory-policy', 'noeviction'] }),
    startMockKafka({ topics: Object.values(DEFAULT_TOPICS).map((name) => ({ name, partitions: 1 })) }),
  ]);
  client = new Redis(redis.url);
  container = createAnalyticsContainer({
    REDIS_URL: redis.url,
    KAFKA_BROKERS: kafka.bootstrapServers,
    KAFKA_IDEMPOTENT: 'false',
  });
});

afterAll(async () => {
  await container?.close();
  client?.disconnect();
  await Promise.all([redis?.stop(), kafka?.stop()]);
});

describe('a cache that runs out of memory mid-batch', () => {
  it('fails the batch loudly, leaves every device whole or untouched, and the retry after memory is freed is exact', async () => {
    const handler = createAnalyticsHandler({ container: () => container });
    const ts = Date.UTC(2026, 10, 20, 9);
    const placed: PlacedReading[] = Array.from({ length: 1_500 }, (_, i) => ({
      reading: telemetry({ deviceId: `mem-${i}`, ts, temperature: i / 10 }),
      partition: 0,
      offset: i,
    }));
    const event = buildMskEvent(placed.map((p) => telemetryRecord(p.reading, { offset: p.offset })));
    // Warm the container (scripts loaded) on another device, then leave room for part of the batch only.
    await handler(
      buildMskEvent([
        telemetryRecord(telemetry({ deviceId: 'warm' }), { offset: 0, partition: 0, topic: 'other' }),
      ]),
    );
    const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
    await client.config('SET', 'maxmemory', String(used + 400_000));

    const error = await handler(event).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisError);
    expect((error as Error).message).toMatch(/OOM/);

    const keys = keySpace('surge');
    const reader = new RedisAnalyticsReader(client, { keyPrefix: 'surge' });
    let whole = 0;
    for (const { reading } of placed) {
      const id = reading.deviceId;
      // A device applied whole has its state and its window (in its current bucket); one not applied has neither.
      const state = await client.exists(keys.device(id));
      const windows = (await reader.windows(id, 0, Number.MAX_SAFE_INTEGER)).length;
      expect([state, windows], `${id}: state, windows`).toSatisfy(
        ([s, w]: number[]) => (s === 1 && w === 1) || (s === 0 && w === 0),
      );
      // One bucket per device: it lives in the device key, with nothing archived.
      expect(
        await client.exists(
          keys.windowIndex(id),
          keys.windowBucket(id, Math.floor(ts / BUCKET_MS) * BUCKET_MS),
        ),
      ).toBe(0);
      whole += state;
    }
    // Some devices were applied before memory ran out, others not.
    expect(whole).toBeGreaterThan(0);
    expect(whole).toBeLessThan(placed.length);

    await client.config('SET', 'maxmemory', '0');
    await handler(event);
    const store = new RedisAnalyticsStore(client, { keyPrefix: 'surge', windowTtlSeconds: 3600 });
    for (const p of placed.filter((_, i) => i % 50 === 0)) {
      expectAggregatesEqual(await store.device(p.reading.deviceId), expectedDevice([p]));
    }
    expect((await store.stats()).records).toBe(placed.length + 1);
  });
});
