import type { MSKEvent } from 'aws-lambda';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnalyticsContainer, createAnalyticsContainer } from '../../functions/analytics/container';
import { createAnalyticsHandler } from '../../functions/analytics/handler';
import { DEFAULT_TOPICS } from '../../functions/shared/config';
import { RedisError, StoreBehindError } from '../../functions/shared/errors';
import { RedisAnalyticsStore } from '../../functions/shared/redis/analytics-store';
import { type MockKafka, startMockKafka } from '../../local/kafka/mock-cluster';
import { buildMskEvent, type KafkaRecordInput } from '../../local/msk-event';
import { freePort } from '../../local/ports';
import { type LocalRedis, startRedis } from '../../local/redis/redis-server';
import { rebuild } from '../../ops/rebuild';
import { toolsContext } from '../../ops/tools-context';
import { expectAggregatesEqual, expectedDevice, readingsByDevice } from '../support/expected-aggregates';
import { topicEnd } from '../support/infrastructure';
import { type PlacedReading, telemetry, telemetryRecord } from '../support/records';

/**
 * A primary and a replica redis-server, as a replication group with one replica: what WAIT
 * guarantees while the replica lags, and what detection and rebuild do after a failover that lost
 * acknowledged writes (replication is asynchronous without WAIT or the durability option).
 */

let kafka: MockKafka;
const servers: LocalRedis[] = [];
const containers: AnalyticsContainer[] = [];
const clients: Redis[] = [];

/** A test's own connection; one to a server the test kills stays quiet about it. */
function connect(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

beforeAll(async () => {
  kafka = await startMockKafka({
    topics: Object.values(DEFAULT_TOPICS).map((name) => ({ name, partitions: 1 })),
  });
});

afterAll(async () => {
  await Promise.all(containers.map((c) => c.close()));
  for (const client of clients) client.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
  await kafka?.stop();
});

async function replicationGroup(): Promise<{ primary: LocalRedis; replica: LocalRedis }> {
  const primary = await startRedis();
  const replica = await startRedis({ replicaOf: primary.port });
  servers.push(primary, replica);
  const admin = connect(primary.url);
  // In sync before the test starts: one replica acknowledges a write.
  for (let i = 0; i < 100 && (await admin.wait(1, 100)) < 1; i++) await admin.set('sync', String(i));
  return { primary, replica };
}

function handlerOn(url: string, env: Record<string, string> = {}) {
  const container = createAnalyticsContainer({
    REDIS_URL: url,
    KAFKA_BROKERS: kafka.bootstrapServers,
    KAFKA_IDEMPOTENT: 'false',
    ...env,
  });
  containers.push(container);
  return createAnalyticsHandler({ container: () => container });
}

/** Readings of a few devices, produced to iot-data partition 0 and returned as the mapping would deliver them. */
async function produce(
  count: number,
): Promise<{ placed: PlacedReading[]; events: (from: number, to: number) => MSKEvent }> {
  const producer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  const placed: PlacedReading[] = [];
  const inputs: KafkaRecordInput[] = [];
  try {
    const start = (await topicEnd(kafka.bootstrapServers, 'iot-data')).get(0) ?? 0;
    for (let i = 0; i < count; i++) {
      const reading = telemetry({
        deviceId: `fo-${i % 4}`,
        ts: Date.UTC(2026, 10, 20, 9) + i * 1_000,
        temperature: 15 + i / 7,
      });
      const input = telemetryRecord(reading, { offset: start + i, partition: 0 });
      await producer.send({
        topic: 'iot-data',
        messages: [
          {
            partition: 0,
            key: input.key as string,
            value: input.value as Buffer,
            timestamp: String(Date.now()),
          },
        ],
      });
      placed.push({ reading, partition: 0, offset: start + i });
      inputs.push(input);
    }
  } finally {
    await producer.disconnect();
  }
  return {
    placed,
    events: (from, to) => buildMskEvent(inputs.filter((r) => r.offset >= from && r.offset <= to)),
  };
}

async function expectExact(url: string, placed: readonly PlacedReading[]): Promise<void> {
  const client = connect(url);
  const store = new RedisAnalyticsStore(client, { keyPrefix: 'surge', windowTtlSeconds: 3600 });
  for (const [deviceId, readings] of readingsByDevice(placed)) {
    expectAggregatesEqual(await store.device(deviceId), expectedDevice(readings));
  }
  expect((await store.stats()).records).toBe(placed.length);
}

describe('a store that does not lose acknowledged writes, or says so', () => {
  it('fails the batch under WAIT while the replica does not answer, and the retry on the promoted replica is exact', async () => {
    const { primary, replica } = await replicationGroup();
    const { placed, events } = await produce(30);
    const first = placed[0]?.offset ?? 0;
    const waiting = handlerOn(primary.url, { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '300' });
    await waiting(events(first, first + 9));

    replica.pause();
    const error = await waiting(events(first + 10, first + 19)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisError);
    expect((error as Error).message).toMatch(/0 of 1 replicas acknowledged/);

    // The primary dies with the unacknowledged batch; the replica is promoted (ElastiCache's failover).
    await primary.kill();
    replica.resume();
    const promoted = connect(replica.url);
    await promoted.replicaof('NO', 'ONE');
    const onPromoted = handlerOn(replica.url);
    await onPromoted(events(first + 10, first + 19));
    await onPromoted(events(first + 20, first + 29));
    await expectExact(replica.url, placed);
  });

  it('detects a store behind Kafka after a failover that lost acknowledged writes, and the rebuild restores exact aggregates', async () => {
    const { primary, replica } = await replicationGroup();
    const { placed, events } = await produce(30);
    const first = placed[0]?.offset ?? 0;
    const unsafe = handlerOn(primary.url);
    await unsafe(events(first, first + 9));
    const admin = connect(primary.url);
    expect(await admin.wait(1, 1_000)).toBe(1);

    // Acknowledged on the primary only: the replica is cut off from it (a network partition, as it
    // points at a port nobody listens on), and there is no WAIT.
    const promoted = connect(replica.url);
    await promoted.replicaof('127.0.0.1', String(await freePort()));
    await unsafe(events(first + 10, first + 19));
    await primary.kill();
    await promoted.replicaof('NO', 'ONE');

    const onPromoted = handlerOn(replica.url);
    const refused = await onPromoted(events(first + 20, first + 29)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreBehindError);
    expect((refused as StoreBehindError).gaps).toEqual([
      { topicPartition: 'iot-data-0', storeWatermark: first + 9, batchStart: first + 20 },
    ]);

    // The runbook: rebuild from where the store stands to the end of the partition.
    const tools = await toolsContext({
      REDIS_URL: replica.url,
      KAFKA_BROKERS: kafka.bootstrapServers,
      KAFKA_IDEMPOTENT: 'false',
    });
    try {
      const [rebuilt] = await rebuild(
        { topic: 'iot-data', partitions: [0], from: 'store', batchSize: 7 },
        tools,
      );
      expect(rebuilt).toMatchObject({
        from: first + 10,
        to: first + 29,
        records: 20,
        applied: 20,
        duplicates: 0,
      });
    } finally {
      await tools.close();
    }
    // The mapping's retry of the refused batch now finds it applied.
    await onPromoted(events(first + 20, first + 29));
    await expectExact(replica.url, placed);
  });
});
