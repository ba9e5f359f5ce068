import type { MSKEvent } from 'aws-lambda';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnalyticsContainer, createAnalyticsContainer } from '../../../../functions/analytics/container';
import { createAnalyticsHandler } from '../../../../functions/analytics/handler';
import { DEFAULT_TOPICS } from '../../../../functions/shared/config';
import { RedisAnalyticsStore } from '../../../../functions/shared/redis/analytics-store';
import { createRedisCluster } from '../../../../functions/shared/redis/clients';
import { keySpace } from '../../../../functions/shared/redis/layout';
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
import { type PlacedReading, telemetry, telemetryRecord } from '../../../support/records';

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

  it('follows a slot that moved during its life (MOVED) and one moving now (ASK), applying each batch once', async () => {
    const keys = keySpace('surge');
    const nodes = await Promise.all(
      cluster.ports.map(async (port) => {
        const node = new Redis(port, '127.0.0.1');
        return { port, node, id: (await node.cluster('MYID')) as string };
      }),
    );
    try {
      const ownerOf = (slot: number) => nodes[Math.floor((slot * 3) / 16_384)] as (typeof nodes)[number];
      const ts = Date.UTC(2026, 10, 21, 9);
      const reading = (deviceId: string, i: number) =>
        telemetry({ deviceId, ts: ts + i * 1_000, temperature: 20 + i });
      /** Moves every key of `slot` to `target`, leaving the slot MIGRATING/IMPORTING unless `finish`. */
      const migrate = async (slot: number, target: (typeof nodes)[number], finish: boolean) => {
        const source = ownerOf(slot);
        await target.node.cluster('SETSLOT', slot, 'IMPORTING', source.id);
        await source.node.cluster('SETSLOT', slot, 'MIGRATING', target.id);
        const moving = (await source.node.cluster('GETKEYSINSLOT', slot, 1_000)) as string[];
        if (moving.length > 0)
          await source.node.migrate('127.0.0.1', target.port, '', 0, 5_000, 'KEYS', ...moving);
        if (finish) for (const { node } of nodes) await node.cluster('SETSLOT', slot, 'NODE', target.id);
        return source;
      };

      // MOVED: the device's slot is moved to another node after the container learned the slot map.
      const moved = 'reshard-moved';
      const movedSlot = calculateSlot(keys.device(moved));
      await handler(
        buildMskEvent([
          telemetryRecord(reading(moved, 0), { offset: 10_000, partition: 0, topic: 'reshard' }),
        ]),
      );
      const newOwner = nodes.find((n) => n !== ownerOf(movedSlot)) as (typeof nodes)[number];
      await migrate(movedSlot, newOwner, true);
      await handler(
        buildMskEvent([
          telemetryRecord(reading(moved, 1), { offset: 10_001, partition: 0, topic: 'reshard' }),
        ]),
      );

      // ASK: the slot is mid-migration and the device's keys are already on the importing node.
      const asked = 'reshard-asked';
      const askedSlot = calculateSlot(keys.device(asked));
      await handler(
        buildMskEvent([
          telemetryRecord(reading(asked, 0), { offset: 10_002, partition: 0, topic: 'reshard' }),
        ]),
      );
      const importing = nodes.find((n) => n !== ownerOf(askedSlot) && n !== newOwner) ?? newOwner;
      const source = await migrate(askedSlot, importing, false);
      await handler(
        buildMskEvent([
          telemetryRecord(reading(asked, 1), { offset: 10_003, partition: 0, topic: 'reshard' }),
        ]),
      );
      for (const { node } of nodes) await node.cluster('SETSLOT', askedSlot, 'NODE', importing.id);
      expect(source.id).not.toBe(importing.id);

      const client = createRedisCluster(cluster.url);
      const reader = new RedisAnalyticsStore(client, { keyPrefix: 'surge', windowTtlSeconds: 60 });
      for (const id of [moved, asked]) {
        expectAggregatesEqual(
          await reader.device(id),
          expectedDevice([0, 1].map((i) => ({ reading: reading(id, i), partition: 0, offset: 0 }))),
        );
      }
      expect(
        await client
          .nodes('master')
          .find((n) => n.options.port === newOwner.port)
          ?.exists(keys.device(moved)),
      ).toBe(1);
      client.disconnect();
    } finally {
      for (const { node } of nodes) node.disconnect();
    }
  });
});
