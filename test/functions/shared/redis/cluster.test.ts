import type { MSKEvent } from 'aws-lambda';
import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnalyticsContainer, createAnalyticsContainer } from '../../../../functions/analytics/container';
import { createAnalyticsHandler } from '../../../../functions/analytics/handler';
import { DEFAULT_TOPICS } from '../../../../functions/shared/config';
import { createRedisCluster, RedisAnalyticsStore } from '../../../../functions/shared/redis/analytics-store';
import { keySpace } from '../../../../functions/shared/redis/keys';
import { TelemetryGenerator } from '../../../../functions/simulator/generator';
import { type MockKafka, startMockKafka } from '../../../../local/kafka/mock-cluster';
import { buildMskEvent, type KafkaRecordInput } from '../../../../local/msk-event';
import { type LocalRedisCluster, startRedisCluster } from '../../../../local/redis/redis-cluster';
import {
  expectAggregatesEqual,
  expectedDevice,
  expectedWindows,
  readingsByDevice,
} from '../../../support/expected-aggregates';
import { type PlacedReading, telemetryRecord } from '../../../support/records';

let cluster: LocalRedisCluster;
let kafka: MockKafka;
let container: AnalyticsContainer;
let handler: (event: MSKEvent) => Promise<void>;

beforeAll(async () => {
  [cluster, kafka] = await Promise.all([
    startRedisCluster(3),
    startMockKafka({ topics: Object.values(DEFAULT_TOPICS).map((name) => ({ name, partitions: 3 })) }),
  ]);
  container = createAnalyticsContainer({
    REDIS_URL: cluster.url,
    REDIS_CLUSTER: 'true',
    KAFKA_BROKERS: kafka.bootstrapServers,
    KAFKA_IDEMPOTENT: 'false',
  });
  handler = createAnalyticsHandler({ container: () => container });
});

afterAll(async () => {
  await container?.close();
  await Promise.all([cluster?.stop(), kafka?.stop()]);
});

describe('a cluster-mode Redis (ElastiCache Serverless)', () => {
  it('applies batches exactly once with devices spread over every node', async () => {
    const generator = new TelemetryGenerator({
      devices: 60,
      seed: 3,
      startTs: Date.UTC(2026, 10, 20),
      intervalMs: 5_000,
    });
    const placed: PlacedReading[] = [];
    const records: KafkaRecordInput[] = [];
    const next = [0, 0, 0];
    for (let i = 0; i < 900; i++) {
      const g = generator.reading();
      const partition = i % 3;
      const offset = next[partition] ?? 0;
      next[partition] = offset + 1;
      placed.push({ reading: g.reading, partition, offset });
      records.push(telemetryRecord(g.reading, { partition, offset }, g.schemaId));
    }
    const keys = keySpace('surge');
    // redis-cli gives each of the 3 masters a third of the 16384 slots.
    const owners = new Set(
      [...readingsByDevice(placed).keys()].map((id) =>
        Math.floor((calculateSlot(keys.device(id)) * 3) / 16_384),
      ),
    );
    expect(owners.size).toBe(3);

    await handler(buildMskEvent(records.filter((r) => r.offset < 200)));
    await handler(buildMskEvent(records.filter((r) => r.offset >= 150)));
    await handler(buildMskEvent(records));

    const client = createRedisCluster(cluster.url);
    const reader = new RedisAnalyticsStore(client, { keyPrefix: 'surge', windowTtlSeconds: 60 });
    for (const [deviceId, readings] of readingsByDevice(placed)) {
      expectAggregatesEqual(await reader.device(deviceId), expectedDevice(readings));
      expectAggregatesEqual(
        await reader.windows(deviceId, 0, Number.MAX_SAFE_INTEGER),
        expectedWindows(readings),
      );
    }
    expect(await reader.stats()).toMatchObject({ devices: 60, records: 900 });
    client.disconnect();
  });
});
