import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsHandler } from '../../functions/analytics/handler';
import { createBatchProcessor } from '../../functions/analytics/processor';
import { loadAnalyticsConfig } from '../../functions/shared/config';
import { RedisError, StoreBehindError } from '../../functions/shared/errors';
import { KafkaPublisher } from '../../functions/shared/kafka/publisher';
import { parseMskEvent } from '../../functions/shared/msk/event';
import { onFailureDocument, onFailureMetadata } from '../../functions/shared/msk/on-failure';
import { type AnalyticsStore, RedisAnalyticsStore } from '../../functions/shared/redis/analytics-store';
import {
  buildMskEvent,
  EXAMPLE_CLUSTER_ARN,
  type KafkaRecordInput,
  toMskRecord,
} from '../../local/msk-event';
import { replayFailed } from '../../ops/replay-failed';
import { type ToolsContext, toolsContext } from '../../ops/tools-context';
import { expectAggregatesEqual, expectedDevice, readingsByDevice } from '../support/expected-aggregates';
import { type Infrastructure, startInfrastructure } from '../support/infrastructure';
import { type PlacedReading, registry, telemetry, telemetryRecord } from '../support/records';

/**
 * The failure topic's replay path: batches the mapping gave up on, one of them half applied before
 * it failed, come back exactly once; and the operator commands as a user runs them.
 */

let infra: Infrastructure;
let redis: Redis;
let store: RedisAnalyticsStore;
let tools: ToolsContext;
const ROOT = new URL('../../', import.meta.url).pathname;

beforeAll(async () => {
  infra = await startInfrastructure();
  redis = new Redis(infra.redis.url);
  store = new RedisAnalyticsStore(redis, { keyPrefix: 'surge', windowTtlSeconds: 3600 });
  tools = await toolsContext(infra.env);
});

afterAll(async () => {
  await tools?.close();
  redis?.disconnect();
  await infra?.stop();
});

const placed: PlacedReading[] = Array.from({ length: 30 }, (_, i) => ({
  reading: telemetry({
    deviceId: `rf-${i % 4}`,
    ts: Date.UTC(2026, 10, 20, 9) + i * 1_000,
    temperature: 10 + i,
  }),
  partition: 0,
  offset: i,
}));
const inputs: KafkaRecordInput[] = placed.map((p) => telemetryRecord(p.reading, { offset: p.offset }));
const range = (from: number, to: number) => inputs.filter((r) => r.offset >= from && r.offset <= to);

/** What AWS's mapping writes to a kafka:// failure destination for these records. */
async function divert(records: readonly KafkaRecordInput[], error: string): Promise<void> {
  const producer = new Kafka({ brokers: infra.kafka.brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  try {
    await producer.send({
      topic: 'iot-data-failed',
      messages: records.map((record) => ({
        key: record.key as string,
        value: JSON.stringify(
          onFailureDocument(toMskRecord(record), {
            condition: 'RetryAttemptsExhausted',
            approximateInvokeCount: 6,
            functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:surge-analytics',
            eventSourceArn: EXAMPLE_CLUSTER_ARN,
            bootstrapServers: infra.kafka.bootstrapServers,
            batchSize: records.length,
            functionError: error,
          }),
        ),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

function run(script: string, args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...infra.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

describe('replaying the failure topic', () => {
  it('applies exactly the records of diverted batches that were not applied, once, in offset order', async () => {
    const config = loadAnalyticsConfig(infra.env);
    const container = { config, processor: async () => tools.processor, close: async () => undefined };
    const handler = createAnalyticsHandler({ container: () => container });
    await handler(buildMskEvent(range(0, 9)));

    // Batch 10..19 dies after half of its devices were applied, every retry; the mapping diverts it.
    const publisher = KafkaPublisher.create(config.kafka, infra.kafka.brokers);
    const crashing: AnalyticsStore = {
      watermarks: (tps) => store.watermarks(tps),
      confirmDurable: () => store.confirmDurable(),
      async apply(plan) {
        await store.apply({ devices: plan.devices.slice(0, 2), partitions: [] });
        throw new RedisError('connection lost mid-batch');
      },
    };
    const dying = createBatchProcessor({ store: crashing, publisher, registry, config });
    await expect(dying(parseMskEvent(buildMskEvent(range(10, 19))))).rejects.toThrow(RedisError);
    await publisher.disconnect();
    await divert(range(10, 19), 'RedisError: connection lost mid-batch');
    // The next batch is refused while the store is behind, and is diverted in its turn.
    await expect(handler(buildMskEvent(range(20, 29)))).rejects.toThrow(StoreBehindError);
    await divert(range(20, 29), 'StoreBehindError');
    await divert(range(15, 16), 'a second diversion of the same records');

    const outcome = await replayFailed({ topic: 'iot-data-failed', batchSize: 6 }, tools);
    expect(outcome.documents).toBe(22);
    expect(outcome.unreadable).toEqual([]);
    const [partition] = outcome.partitions;
    expect(partition).toMatchObject({ topicPartition: 'iot-data-0', from: 10, to: 29, records: 20 });
    // Two of B's four devices (rf-2 and rf-3, three records each) had been applied before it failed.
    expect(partition?.duplicates).toBe(6);
    expect(partition?.applied).toBe(14);
    for (const [deviceId, readings] of readingsByDevice(placed)) {
      expectAggregatesEqual(await store.device(deviceId), expectedDevice(readings));
    }
    expect((await store.stats()).records).toBe(30);
    // The mapping delivers on: the next batch is contiguous again.
    await handler(
      buildMskEvent([
        telemetryRecord(telemetry({ deviceId: 'rf-0', ts: Date.UTC(2026, 10, 20, 10) }), { offset: 30 }),
      ]),
    );
    expect((await store.device('rf-0'))?.count).toBe(9);
  });

  it('runs as npm run replay-failed: replays again with nothing left to apply, and reports unreadable documents', async () => {
    const producer = new Kafka({ brokers: infra.kafka.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic: 'iot-data-failed', messages: [{ value: 'not a document' }] });
    await producer.disconnect();
    const result = run('ops/replay-failed-cli.ts', []);
    expect(result.status, result.stderr).toBe(2);
    const outcome = JSON.parse(result.stdout.trim().split('\n').at(-1) as string);
    expect(outcome.unreadable).toEqual([
      expect.stringMatching(/^iot-data-failed-\d@\d+: not a JSON document/),
    ]);
    expect(outcome.partitions[0]).toMatchObject({ records: 20, applied: 0, duplicates: 20 });
  });

  it('runs as npm run replay-failed -- --from-file: reads the ranges an SQS destination names from the source topic', async () => {
    const producer = new Kafka({ brokers: infra.kafka.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({
      topic: 'iot-data',
      messages: [0, 1, 2, 3, 4].map((i) => ({
        partition: 0,
        key: 'rf-0',
        value: telemetryRecord(telemetry({ deviceId: 'rf-0', ts: Date.UTC(2026, 10, 20, 9, i) }), {
          offset: i,
        }).value,
      })),
    });
    await producer.disconnect();
    const metadata = onFailureMetadata(
      [
        {
          topic: 'iot-data',
          partition: 0,
          records: [0, 4].map((offset) => toMskRecord({ topic: 'iot-data', offset, value: Buffer.from('') })),
        },
      ],
      {
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
        functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:analytics',
        eventSourceArn: EXAMPLE_CLUSTER_ARN,
        bootstrapServers: infra.kafka.bootstrapServers,
        batchSize: 5,
        functionError: 'Unhandled',
        payloadSize: 1_000,
      },
    );
    const file = join(mkdtempSync(join(tmpdir(), 'surge-replay-')), 'failed-batches.jsonl');
    writeFileSync(file, `${JSON.stringify(metadata)}\n{"KafkaBatchInfo":{}}\n`);
    const result = run('ops/replay-failed-cli.ts', ['--from-file', file]);
    expect(result.status, result.stderr).toBe(2);
    const outcome = JSON.parse(result.stdout.trim().split('\n').at(-1) as string);
    expect(outcome.unreadable).toEqual([
      expect.stringMatching(/^document 2: the document has no KafkaBatchInfo\.recordsInfo/),
    ]);
    // Offsets 0..4 of the partition are below what the store has applied: read, and skipped.
    expect(outcome.partitions).toEqual([
      expect.objectContaining({
        topicPartition: 'iot-data-0',
        from: 0,
        to: 4,
        records: 5,
        applied: 0,
        duplicates: 5,
      }),
    ]);
  });

  it('runs as npm run rebuild: a partition from where the store stands, then nothing more', async () => {
    const producer = new Kafka({ brokers: infra.kafka.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const cli = Array.from({ length: 5 }, (_, i) =>
      telemetryRecord(telemetry({ deviceId: 'cli', ts: Date.UTC(2026, 10, 21) + i }), { offset: i }),
    );
    await producer.send({
      topic: 'iot-data',
      messages: cli.map((r) => ({ partition: 2, key: r.key as string, value: r.value as Buffer })),
    });
    await producer.disconnect();
    const first = run('ops/rebuild-cli.ts', ['--partition', '2']);
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout.trim())).toMatchObject({
      topicPartition: 'iot-data-2',
      from: 0,
      to: 4,
      applied: 5,
    });
    const again = run('ops/rebuild-cli.ts', ['--partition', '2', '--from', '0']);
    expect(JSON.parse(again.stdout.trim())).toMatchObject({ from: 0, to: 4, applied: 0, duplicates: 5 });
    expect((await store.device('cli'))?.count).toBe(5);
    const bad = run('ops/rebuild-cli.ts', ['--partition', '2', '--from', 'soon']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--from must be an offset/);
  });
});
