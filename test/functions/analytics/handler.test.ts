import type { MSKEvent } from 'aws-lambda';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AnalyticsContainer, createAnalyticsContainer } from '../../../functions/analytics/container';
import { createAnalyticsHandler } from '../../../functions/analytics/handler';
import { createBatchProcessor } from '../../../functions/analytics/processor';
import { RECORD_FAULTS, type Telemetry } from '../../../functions/domain/telemetry';
import { SCHEMA_IDS } from '../../../functions/shared/avro/schema-registry';
import { loadAnalyticsConfig } from '../../../functions/shared/config';
import { KafkaError, RedisError } from '../../../functions/shared/errors';
import { KafkaPublisher } from '../../../functions/shared/kafka/publisher';
import { parseMskEvent } from '../../../functions/shared/msk/event';
import { type AnalyticsStore, RedisAnalyticsStore } from '../../../functions/shared/redis/analytics-store';
import { TelemetryGenerator } from '../../../functions/simulator/generator';
import { buildMskEvent, type KafkaRecordInput } from '../../../local/msk-event';
import { freePort } from '../../../local/ports';
import {
  expectAggregatesEqual,
  expectedDevice,
  expectedWindows,
  readingsByDevice,
} from '../../support/expected-aggregates';
import {
  type Infrastructure,
  readTopic,
  startInfrastructure,
  TEST_PARTITIONS,
  topicEnd,
} from '../../support/infrastructure';
import {
  decodeMessages,
  framed,
  type PlacedReading,
  registry,
  telemetry,
  telemetryRecord,
} from '../../support/records';

let infra: Infrastructure;
let redis: Redis;
let store: RedisAnalyticsStore;
let handler: (event: MSKEvent) => Promise<void>;
const containers: AnalyticsContainer[] = [];

function container(env: Record<string, string> = {}): AnalyticsContainer {
  const built = createAnalyticsContainer({ ...infra.env, ...env });
  containers.push(built);
  return built;
}

beforeAll(async () => {
  infra = await startInfrastructure();
  Object.assign(process.env, infra.env);
  // The module's own export, configured from the environment exactly as in Lambda.
  ({ handler } = await import('../../../functions/analytics/handler'));
  redis = new Redis(infra.redis.url);
  store = new RedisAnalyticsStore(redis, { keyPrefix: 'surge', windowTtlSeconds: 3600 });
});

afterAll(async () => {
  await Promise.all(containers.map((c) => c.close()));
  redis?.disconnect();
  await infra?.stop();
});

beforeEach(async () => {
  await redis.flushall();
});

/** A fleet's readings placed on partitions by device, as a keyed producer would, v1 and v2 mixed. */
function fleet(
  devices: number,
  count: number,
  seed = 7,
): { placed: PlacedReading[]; records: KafkaRecordInput[] } {
  const generator = new TelemetryGenerator({
    devices,
    seed,
    startTs: Date.UTC(2026, 10, 20),
    intervalMs: 7_000,
  });
  const next = new Map<number, number>();
  const placed: PlacedReading[] = [];
  const records: KafkaRecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const generated = generator.reading();
    const partition = Number(generated.reading.deviceId.slice(-5)) % TEST_PARTITIONS;
    const offset = next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    placed.push({ reading: generated.reading, partition, offset });
    records.push(telemetryRecord(generated.reading, { partition, offset }, generated.schemaId));
  }
  return { placed, records };
}

async function expectFleetAggregates(placed: readonly PlacedReading[]): Promise<void> {
  const byDevice = readingsByDevice(placed);
  for (const [deviceId, readings] of byDevice) {
    expectAggregatesEqual(await store.device(deviceId), expectedDevice(readings));
    expectAggregatesEqual(
      await store.windows(deviceId, 0, Number.MAX_SAFE_INTEGER),
      expectedWindows(readings),
    );
  }
  const stats = await store.stats();
  expect(stats.devices).toBe(byDevice.size);
  expect(stats.records).toBe(placed.length);
}

describe('analytics handler', () => {
  it('aggregates a batch of v1 and v2 records exactly as computed independently', async () => {
    const { placed, records } = fleet(12, 600);
    expect(new Set(records.map((r) => r.value?.readUInt32BE(1)))).toEqual(new Set([1, 2]));
    await handler(buildMskEvent(records));
    await expectFleetAggregates(placed);
  });

  it('changes nothing when the same event is delivered again', async () => {
    const { placed, records } = fleet(5, 200);
    const event = buildMskEvent(records);
    await handler(event);
    await handler(event);
    await handler(event);
    await expectFleetAggregates(placed);
  });

  it('applies only the new records of a redelivery whose batch boundaries differ', async () => {
    const { placed, records } = fleet(8, 400);
    // First delivery: the first half of every partition; second: from a quarter on, to the end.
    const first = records.filter((r) => r.offset < 20);
    const second = records.filter((r) => r.offset >= 10);
    await handler(buildMskEvent(first));
    await handler(buildMskEvent(second));
    await expectFleetAggregates(placed);
  });

  it('resolves an overlapping redelivery in one extra store call', async () => {
    const { placed, records } = fleet(4, 120);
    const config = loadAnalyticsConfig(infra.env);
    const publisher = KafkaPublisher.create(config.kafka, infra.kafka.brokers);
    const process = createBatchProcessor({ store, publisher, registry, config });
    try {
      const first = await process(parseMskEvent(buildMskEvent(records.filter((r) => r.offset < 15))));
      const second = await process(parseMskEvent(buildMskEvent(records.filter((r) => r.offset >= 5))));
      const replay = await process(parseMskEvent(buildMskEvent(records)));
      expect(first).toMatchObject({ storeCalls: 1, duplicates: 0 });
      expect(second.storeCalls).toBe(2);
      expect(first.applied + second.applied).toBe(records.length);
      expect(replay).toMatchObject({ storeCalls: 1, applied: 0, duplicates: records.length });
      await expectFleetAggregates(placed);
    } finally {
      await publisher.disconnect();
    }
  });

  it('applies each record once when a crash between device updates is followed by redelivery', async () => {
    const { placed, records } = fleet(10, 300);
    const event = buildMskEvent(records);
    const real = container();
    let crashed = false;
    // The store applies the first half of the devices, then the process "dies".
    const crashingStore: AnalyticsStore = {
      async apply(plan) {
        if (crashed) return store.apply(plan);
        crashed = true;
        await store.apply({
          devices: plan.devices.slice(0, Math.floor(plan.devices.length / 2)),
          partitions: [],
        });
        throw new RedisError('connection lost mid-batch');
      },
      watermarks: (tps) => store.watermarks(tps),
      confirmDurable: () => store.confirmDurable(),
    };
    const publisher = KafkaPublisher.create(real.config.kafka, infra.kafka.brokers);
    const crashing = createAnalyticsHandler({
      container: () => ({
        config: real.config,
        processor: async () =>
          createBatchProcessor({ store: crashingStore, publisher, registry, config: real.config }),
        close: () => publisher.disconnect(),
      }),
    });
    await expect(crashing(event)).rejects.toThrow(/connection lost mid-batch/);
    const halfApplied = await store.stats();
    expect(halfApplied.records).toBe(0);
    await crashing(event);
    await handler(event);
    await expectFleetAggregates(placed);
    await publisher.disconnect();
  });

  it('quarantines every kind of bad record to the DLQ with its reason and original bytes, counted once', async () => {
    const good = telemetry({ deviceId: 'dlq-good' });
    const unknownSchema = framed(telemetry());
    unknownSchema.writeUInt32BE(77, 1);
    const bad: [string, KafkaRecordInput][] = [
      ['NULL_VALUE', { offset: 1, key: 'dlq-null', value: null }],
      ['BAD_MAGIC', { offset: 2, key: 'dlq-magic', value: Buffer.from('{"deviceId":"x"}') }],
      ['UNKNOWN_SCHEMA', { offset: 3, key: 'dlq-schema', value: unknownSchema }],
      ['DECODE_ERROR', { offset: 4, key: 'dlq-decode', value: framed(telemetry()).subarray(0, 12) }],
      ['INVALID', { offset: 5, key: 'dlq-invalid', value: framed(telemetry({ humidity: 140 })) }],
    ];
    const records: KafkaRecordInput[] = [
      telemetryRecord(good, { offset: 0 }),
      ...bad.map(([, r]) => ({ ...r, headers: [{ traceparent: `trace-${r.offset}` }] })),
      telemetryRecord({ ...good, ts: good.ts + 1 }, { offset: 6 }),
    ];
    const dlqStart = await topicEnd(infra.kafka.bootstrapServers, 'iot-data-dlq');
    const event = buildMskEvent(records);
    await handler(event);
    await handler(event);

    const stats = await store.stats();
    expect(stats.quarantined).toEqual({
      ...Object.fromEntries(RECORD_FAULTS.map((r) => [r, 1])),
      STATE_UNREADABLE: 0,
    });
    expect(stats.records).toBe(2);
    expect((await store.device('dlq-good'))?.count).toBe(2);

    const dead = await readTopic(infra.kafka.bootstrapServers, 'iot-data-dlq', dlqStart);
    // Redelivery may repeat dead letters; each carries its source position to drop repeats by.
    expect(dead).toHaveLength(bad.length * 2);
    for (const [reason, record] of bad) {
      const letters = dead.filter((m) => m.headers['x-source-offset'] === String(record.offset));
      expect(letters).toHaveLength(2);
      const letter = letters[0];
      expect(letter?.headers).toMatchObject({
        'x-reason': reason,
        'x-source-topic': 'iot-data',
        'x-source-partition': '0',
        'x-source-offset': String(record.offset),
        traceparent: `trace-${record.offset}`,
      });
      expect(letter?.headers['x-error']?.length).toBeGreaterThan(5);
      expect(letter?.key?.toString()).toBe(record.key);
      expect(letter?.value).toEqual(record.value);
    }
  });

  it('publishes one summary per device and one alert per failing or hot reading, with deterministic ids', async () => {
    const hot = telemetry({ deviceId: 'out-a', temperature: 95, ts: Date.UTC(2026, 10, 2) });
    const failing = telemetry({ deviceId: 'out-b', status: 'FAIL', ts: Date.UTC(2026, 10, 2) });
    const both = telemetry({ deviceId: 'out-b', status: 'FAIL', temperature: 81, ts: Date.UTC(2026, 10, 3) });
    const calm = telemetry({ deviceId: 'out-a', temperature: 20, ts: Date.UTC(2026, 10, 1) });
    const records = [
      telemetryRecord(hot, { offset: 0 }),
      telemetryRecord(failing, { offset: 1 }),
      telemetryRecord(calm, { offset: 2 }, SCHEMA_IDS.telemetryV1),
      telemetryRecord(both, { offset: 0, partition: 1 }),
    ];
    const marks = {
      summaries: await topicEnd(infra.kafka.bootstrapServers, 'processed-data'),
      alerts: await topicEnd(infra.kafka.bootstrapServers, 'iot-alerts'),
    };
    const event = buildMskEvent(records);
    await handler(event);
    await handler(event);

    const summaries = decodeMessages(
      await readTopic(infra.kafka.bootstrapServers, 'processed-data', marks.summaries),
      'surge.iot.DeviceSummary',
    );
    expect(summaries).toHaveLength(4);
    const summaryA = summaries.find((s) => s.key === 'out-a');
    expect(summaryA).toMatchObject({ id: 'out-a@2', deviceId: 'out-a', count: 2, last: { temperature: 95 } });
    expect(summaries.filter((s) => s.id === 'out-b@2')).toHaveLength(2);
    expectAggregatesEqual(
      (({ key: _k, id: _i, ...rest }) => rest)(summaryA ?? {}),
      expectedDevice([
        { reading: hot, partition: 0, offset: 0 },
        { reading: { ...calm, firmware: 'unknown' }, partition: 0, offset: 2 },
      ]),
    );

    const alerts = decodeMessages(
      await readTopic(infra.kafka.bootstrapServers, 'iot-alerts', marks.alerts),
      'surge.iot.Alert',
    );
    expect(alerts).toHaveLength(6);
    expect(new Set(alerts.map((a) => a.id))).toEqual(
      new Set(['iot-data-0@0', 'iot-data-0@1', 'iot-data-1@0']),
    );
    expect(alerts.find((a) => a.id === 'iot-data-1@0')).toMatchObject({
      key: 'out-b',
      reasons: ['STATUS_FAIL', 'HIGH_TEMPERATURE'],
      temperatureThreshold: 80,
      sourceOffset: 0,
      sourcePartition: 1,
    });
    expect(alerts.find((a) => a.id === 'iot-data-0@0')).toMatchObject({ reasons: ['HIGH_TEMPERATURE'] });
  });

  it('publishes the same summary bytes whether they are written from the stored state or through avsc (SUMMARY_TRANSCODING)', async () => {
    const { records } = fleet(30, 300, 11);
    const run = async (prefix: string, env: Record<string, string>) => {
      const since = await topicEnd(infra.kafka.bootstrapServers, 'processed-data');
      const built = container({ REDIS_KEY_PREFIX: prefix, ...env });
      const handle = createAnalyticsHandler({ container: () => built });
      // Twice: the second delivery answers every device as a duplicate, from the state the script reads.
      for (const half of [records.slice(0, 150), records.slice(150), records]) {
        await handle(buildMskEvent(half));
      }
      const read = await readTopic(infra.kafka.bootstrapServers, 'processed-data', since);
      return read.map((m) => `${m.key?.toString()} ${m.value?.toString('hex')}`).sort();
    };
    const transcoded = await run('transcoded', {});
    const throughAvsc = await run('avsc', { SUMMARY_TRANSCODING: 'false' });
    expect(transcoded.length).toBeGreaterThanOrEqual(60);
    expect(transcoded).toEqual(throughAvsc);
  });

  it('rejects a malformed event with a message that says what is wrong', async () => {
    await expect(handler({ Records: [] } as unknown as MSKEvent)).rejects.toThrow(
      /not an MSK event: eventSource/,
    );
    await expect(
      handler({
        eventSource: 'aws:kafka',
        records: { 'iot-data-0': [{ topic: 'iot-data' }] },
      } as unknown as MSKEvent),
    ).rejects.toThrow(/partition must be a non-negative integer/);
  });

  it('throws so that the mapping retries when Redis is unreachable', async () => {
    const port = await freePort();
    const unreachable = createAnalyticsHandler({
      container: () => container({ REDIS_URL: `redis://127.0.0.1:${port}` }),
    });
    const event = buildMskEvent([telemetryRecord(telemetry(), { offset: 0 })]);
    await expect(unreachable(event)).rejects.toThrow(RedisError);
  });

  it('throws so that the mapping retries when Kafka is unreachable, and applies the batch once on redelivery', async () => {
    const reading: Telemetry = telemetry({ deviceId: 'kafka-down', status: 'FAIL' });
    const event = buildMskEvent([telemetryRecord(reading, { offset: 0 })]);
    await infra.kafka.setBrokerDown(-1);
    try {
      await expect(handler(event)).rejects.toThrow(KafkaError);
    } finally {
      await infra.kafka.setBrokerUp(-1);
    }
    await handler(event);
    expect((await store.device('kafka-down'))?.count).toBe(1);
  });
});
