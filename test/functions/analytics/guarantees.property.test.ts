import type { MSKEvent } from 'aws-lambda';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalyticsContainer } from '../../../functions/analytics/container';
import { createAnalyticsHandler } from '../../../functions/analytics/handler';
import { createBatchProcessor } from '../../../functions/analytics/processor';
import type { QuarantineReason, Telemetry } from '../../../functions/domain/telemetry';
import { SCHEMA_IDS } from '../../../functions/shared/avro/schema-registry';
import { type AnalyticsConfig, loadAnalyticsConfig } from '../../../functions/shared/config';
import {
  InfrastructureError,
  KafkaError,
  RedisError,
  StoreBehindError,
} from '../../../functions/shared/errors';
import { KafkaPartitionOrigins } from '../../../functions/shared/kafka/partition-origins';
import { KafkaPublisher, type Publisher } from '../../../functions/shared/kafka/publisher';
import type { PartitionOrigins } from '../../../functions/shared/partition-origins';
import { type AnalyticsStore, RedisAnalyticsStore } from '../../../functions/shared/redis/analytics-store';
import { RecordedPartitionOrigins } from '../../../functions/shared/redis/recorded-origins';
import { buildMskEvent, type KafkaRecordInput } from '../../../local/msk-event';
import {
  expectAggregatesEqual,
  expectedDevice,
  expectedWindows,
  readingsByDevice,
} from '../../support/expected-aggregates';
import { type Infrastructure, startInfrastructure } from '../../support/infrastructure';
import { framed, type PlacedReading, registry } from '../../support/records';

/**
 * The handler's promise, stated as a property and tried against real Redis and the mock broker:
 * whatever the records (hostile ones among them), however the batches fall (duplicated,
 * overlapping, redelivered out of order) and wherever an infrastructure fault strikes, the
 * handler throws only for the fault, and once every record has been delivered each device's
 * aggregates are exactly those of its own valid records, each counted once.
 */

const DEVICES = ['pa', 'pb', 'pc', 'pd'];
const PARTITIONS = 2;
const BASE_TS = Date.UTC(2026, 10, 20, 8);
const RECORD_TS = BASE_TS + 3_600_000;

/** How a record is spoiled, and the reason it must be quarantined for. */
const MUTATIONS = {
  firmware: 'INVALID',
  deviceId: 'INVALID',
  braces: 'INVALID',
  temperature: 'INVALID',
  future: 'INVALID',
  latitude: 'INVALID',
  oversized: 'INVALID',
  nullHeader: 'INVALID',
  valueType: 'INVALID',
  nullValue: 'NULL_VALUE',
  badMagic: 'BAD_MAGIC',
  truncated: 'DECODE_ERROR',
  unknownSchema: 'UNKNOWN_SCHEMA',
} as const satisfies Record<string, QuarantineReason>;
type Mutation = keyof typeof MUTATIONS;

interface GeneratedRecord {
  readonly reading: Telemetry;
  readonly v1: boolean;
  readonly duplicateHeaders: boolean;
  readonly mutation: Mutation | undefined;
  readonly size: number;
}

const readingArb: fc.Arbitrary<GeneratedRecord> = fc.record({
  reading: fc.record({
    deviceId: fc.constantFrom(...DEVICES),
    ts: fc.integer({ min: 0, max: 90 }).map((minute) => BASE_TS + minute * 60_000 + 17),
    temperature: fc.double({ min: -100, max: 200, noNaN: true }),
    humidity: fc.double({ min: 0, max: 100, noNaN: true }),
    battery: fc.integer({ min: 0, max: 100 }),
    status: fc.constantFrom('OK' as const, 'WARN' as const, 'FAIL' as const),
    location: fc.option(
      fc.record({
        lat: fc.double({ min: -90, max: 90, noNaN: true }),
        lon: fc.double({ min: -180, max: 180, noNaN: true }),
      }),
      { nil: null },
    ),
    firmware: fc.string({ maxLength: 64 }),
  }),
  v1: fc.boolean(),
  duplicateHeaders: fc.boolean(),
  mutation: fc.option(fc.constantFrom(...(Object.keys(MUTATIONS) as Mutation[])), {
    freq: 3,
    nil: undefined,
  }),
  size: fc.integer({ min: 129, max: 80_000 }),
});

type Fault =
  | 'none'
  | 'watermarks'
  | 'before-store'
  | 'after-devices'
  | 'after-totals'
  | 'durable'
  | 'publish';
const deliveryArb = fc.record({
  partitions: fc.subarray([0, 1], { minLength: 1 }),
  back: fc.nat({ max: 8 }),
  length: fc.integer({ min: 1, max: 12 }),
  fault: fc.constantFrom<Fault>(
    'none',
    'none',
    'none',
    'watermarks',
    'before-store',
    'after-devices',
    'after-totals',
    'durable',
    'publish',
  ),
});

/** The record as a producer would have put it in Kafka (some hostile parts are applied to the event). */
function kafkaRecord(generated: GeneratedRecord, partition: number, offset: number): KafkaRecordInput {
  const { mutation, size } = generated;
  let reading: Telemetry = generated.reading;
  if (mutation === 'firmware') reading = { ...reading, firmware: 'f'.repeat(65 + (size % 70_000)) };
  if (mutation === 'deviceId') reading = { ...reading, deviceId: 'd'.repeat(size) };
  if (mutation === 'braces') reading = { ...reading, deviceId: `{${reading.deviceId}}` };
  if (mutation === 'temperature') reading = { ...reading, temperature: 200.5 + size };
  if (mutation === 'future') reading = { ...reading, ts: RECORD_TS + 24 * 3_600_000 + 1 + size };
  if (mutation === 'latitude') reading = { ...reading, location: { lat: 90.001, lon: 0 } };
  // Telemetry v1 has no firmware: a long one can only be sent as v2.
  const v1 = generated.v1 && mutation !== 'firmware';
  const encoded = framed(reading, v1 ? SCHEMA_IDS.telemetryV1 : SCHEMA_IDS.telemetryV2);
  let value: Buffer | null = encoded;
  if (mutation === 'oversized') value = Buffer.concat([encoded, Buffer.alloc(1_024 + size)]);
  if (mutation === 'nullValue') value = null;
  if (mutation === 'badMagic') value = Buffer.from(JSON.stringify(reading));
  if (mutation === 'truncated') value = encoded.subarray(0, 5 + (size % Math.max(1, encoded.length - 6)));
  if (mutation === 'unknownSchema') encoded.writeUInt32BE(4_000 + (size % 1000), 1);
  const headers = generated.duplicateHeaders ? [{ trace: 'a' }, { trace: Buffer.from([0, 255]) }] : [];
  return { partition, offset, timestamp: RECORD_TS, key: reading.deviceId.slice(0, 200), value, headers };
}

/** The MSK event of `records`, with the event-level mutations (shapes AWS would never send) applied. */
function eventOf(records: { input: KafkaRecordInput; generated: GeneratedRecord }[]): MSKEvent {
  const event = buildMskEvent(records.map((r) => r.input));
  const byPosition = new Map(records.map((r) => [`${r.input.partition}@${r.input.offset}`, r.generated]));
  for (const list of Object.values(event.records)) {
    for (const record of list) {
      const mutation = byPosition.get(`${record.partition}@${record.offset}`)?.mutation;
      const loose = record as unknown as Record<string, unknown>;
      if (mutation === 'nullHeader') loose.headers = [null];
      if (mutation === 'valueType') loose.value = 12_345;
    }
  }
  return event;
}

let infra: Infrastructure;
let redis: Redis;
let store: RedisAnalyticsStore;
let realPublisher: KafkaPublisher;

beforeAll(async () => {
  infra = await startInfrastructure({ partitions: PARTITIONS });
  redis = new Redis(infra.redis.url);
  store = new RedisAnalyticsStore(redis, { keyPrefix: 'surge', windowTtlSeconds: 3600 });
  const config = loadAnalyticsConfig(infra.env);
  realPublisher = KafkaPublisher.create(config.kafka, infra.kafka.brokers);
});

afterAll(async () => {
  await realPublisher?.disconnect();
  redis?.disconnect();
  await infra?.stop();
});

/** One warm container for a whole scenario, whose store and producer fail where the scenario says. */
function faultyHandler(
  current: { fault: Fault; fired: boolean },
  options: { readonly config?: AnalyticsConfig; readonly origins?: PartitionOrigins } = {},
) {
  const config = options.config ?? loadAnalyticsConfig(infra.env);
  let applies = 0;
  const fail = (what: Fault) => {
    if (current.fault !== what) return;
    current.fired = true;
    throw new RedisError(`injected fault: ${what}`);
  };
  const faultyStore: AnalyticsStore = {
    async watermarks(tps) {
      fail('watermarks');
      return store.watermarks(tps);
    },
    async apply(plan, onStates) {
      applies++;
      fail('before-store');
      const result = await store.apply(plan, onStates);
      if (plan.partitions.length === 0) fail('after-devices');
      else fail('after-totals');
      return result;
    },
    async confirmDurable() {
      fail('durable');
    },
  };
  const faultyPublisher: Publisher = {
    async publish(messages) {
      if (current.fault === 'publish') {
        current.fired = true;
        throw new KafkaError('injected fault: publish');
      }
      await realPublisher.publish(messages);
    },
  };
  const processor = createBatchProcessor({
    store: faultyStore,
    publisher: faultyPublisher,
    registry,
    config,
    origins: options.origins,
  });
  const container: AnalyticsContainer = {
    config,
    processor: async () => processor,
    close: async () => undefined,
  };
  return { handler: createAnalyticsHandler({ container: () => container }), applies: () => applies };
}

/** Each partition's log: one to 24 generated records. */
const logsArb = fc.array(fc.array(readingArb, { minLength: 1, maxLength: 24 }), {
  minLength: PARTITIONS,
  maxLength: PARTITIONS,
});

type LoggedRecord = { readonly generated: GeneratedRecord; readonly input: KafkaRecordInput };

/** The logs as Kafka holds them: each partition's records at offsets from 0. */
function recordsOf(logs: readonly GeneratedRecord[][]): LoggedRecord[][] {
  return logs.map((log, partition) =>
    log.map((generated, offset) => ({ generated, input: kafkaRecord(generated, partition, offset) })),
  );
}

/** Every device's aggregates and windows are those of its own valid records, and the fleet totals count each record once. */
async function expectExactly(inputs: readonly LoggedRecord[][]): Promise<void> {
  const valid: PlacedReading[] = [];
  const quarantined: Partial<Record<QuarantineReason, number>> = {};
  inputs.forEach((log, partition) => {
    log.forEach(({ generated, input: { offset } }) => {
      if (generated.mutation === undefined) {
        const reading = generated.v1 ? { ...generated.reading, firmware: 'unknown' } : generated.reading;
        valid.push({ reading, partition, offset });
      } else {
        const reason = MUTATIONS[generated.mutation];
        quarantined[reason] = (quarantined[reason] ?? 0) + 1;
      }
    });
  });
  for (const [deviceId, readings] of readingsByDevice(valid)) {
    expectAggregatesEqual(await store.device(deviceId), expectedDevice(readings));
    expectAggregatesEqual(
      await store.windows(deviceId, 0, Number.MAX_SAFE_INTEGER),
      expectedWindows(readings),
    );
  }
  for (const deviceId of DEVICES) {
    if (!valid.some((p) => p.reading.deviceId === deviceId))
      expect(await store.device(deviceId)).toBeUndefined();
  }
  const stats = await store.stats();
  expect(stats.records).toBe(valid.length);
  for (const [reason, count] of Object.entries(stats.quarantined)) {
    expect(count, reason).toBe(quarantined[reason as QuarantineReason] ?? 0);
  }
}

describe('the handler against hostile records, any delivery order and injected faults', () => {
  it('throws only for infrastructure faults and ends with every device exactly its own valid records', async () => {
    await fc.assert(
      fc.asyncProperty(
        logsArb,
        fc.array(deliveryArb, { minLength: 2, maxLength: 10 }),
        async (logs, deliveries) => {
          await redis.flushall();
          const inputs = recordsOf(logs);
          const current = { fault: 'none' as Fault, fired: false };
          const { handler } = faultyHandler(current);
          const committed = inputs.map(() => -1);

          for (const delivery of deliveries) {
            const batch: LoggedRecord[] = [];
            const ends = new Map<number, number>();
            for (const partition of delivery.partitions) {
              const log = inputs[partition] ?? [];
              const from = Math.max(0, (committed[partition] ?? -1) + 1 - delivery.back);
              const to = Math.min(log.length - 1, from + delivery.length - 1);
              if (from > to) continue;
              batch.push(...log.slice(from, to + 1));
              ends.set(partition, to);
            }
            if (batch.length === 0) continue;
            current.fault = delivery.fault;
            current.fired = false;
            const error = await handler(eventOf(batch)).then(
              () => undefined,
              (e: unknown) => e,
            );
            if (current.fired) {
              expect(error).toBeInstanceOf(InfrastructureError);
            } else {
              // A fault whose moment never came (no device to apply, say) must change nothing.
              expect(error).toBeUndefined();
              for (const [partition, to] of ends)
                committed[partition] = Math.max(committed[partition] ?? -1, to);
            }
          }

          // The mapping delivers what was never committed; a clean redelivery of everything changes nothing more.
          current.fault = 'none';
          await handler(eventOf(inputs.flat()));
          await handler(eventOf(inputs.flat()));

          await expectExactly(inputs);
        },
      ),
      { numRuns: 30 },
    );
  });
});

/** Where each starting position's mapping begins a partition, and what tells the processor so. */
const STARTS = {
  // The mock cluster's partitions are empty, so their logs begin at 0, where the logs below start.
  TRIM_HORIZON: {
    skipped: fc.constant([0, 0]),
    origins: (config: AnalyticsConfig) => new KafkaPartitionOrigins(config.kafka, infra.kafka.brokers),
  },
  // Anywhere in the log: what came before is never delivered, and never counted.
  LATEST: {
    skipped: fc.array(fc.nat({ max: 6 }), { minLength: PARTITIONS, maxLength: PARTITIONS }),
    origins: () => new RecordedPartitionOrigins(redis, 'surge'),
  },
} as const;

describe.each(Object.keys(STARTS) as (keyof typeof STARTS)[])(
  'batches a %s mapping gives up on, replayed later',
  (startingPosition) => {
    const divertArb = fc.record({
      partitions: fc.subarray([0, 1], { minLength: 1 }),
      length: fc.integer({ min: 1, max: 12 }),
      // Tried with a fault on every attempt until the mapping sends it to the failure destination
      // (the store reachable: the faults after the watermarks are read; README says what an
      // unreachable store at a LATEST partition's first batch leaves).
      diverted: fc.constantFrom<Fault | false>(
        false,
        false,
        'before-store',
        'after-devices',
        'after-totals',
        'durable',
        'publish',
      ),
    });

    it('end with every device exactly its own valid records, whichever batches went, the first ones included', async () => {
      const config = { ...loadAnalyticsConfig(infra.env), eventSourceStartingPosition: startingPosition };
      const origins = STARTS[startingPosition].origins(config);
      const current = { fault: 'none' as Fault, fired: false };
      const { handler } = faultyHandler(current, { config, origins });
      try {
        await fc.assert(
          fc.asyncProperty(
            logsArb,
            STARTS[startingPosition].skipped,
            fc.array(divertArb, { minLength: 1, maxLength: 10 }),
            async (logs, skipped, deliveries) => {
              await redis.flushall();
              const inputs = recordsOf(logs).map((log, partition) => log.slice(skipped[partition] ?? 0));
              const committed = inputs.map((log) => (log[0]?.input.offset ?? 0) - 1);
              const failureDestination: MSKEvent[] = [];
              for (const delivery of deliveries) {
                const batch: LoggedRecord[] = [];
                for (const partition of delivery.partitions) {
                  const log = inputs[partition] ?? [];
                  const first = log[0]?.input.offset ?? 0;
                  const from = (committed[partition] ?? -1) + 1 - first;
                  const to = Math.min(log.length - 1, from + delivery.length - 1);
                  if (from > to) continue;
                  batch.push(...log.slice(from, to + 1));
                  committed[partition] = first + to;
                }
                if (batch.length === 0) continue;
                const event = eventOf(batch);
                current.fault = delivery.diverted || 'none';
                current.fired = false;
                const error = await handler(event).then(
                  () => undefined,
                  (e: unknown) => e,
                );
                current.fault = 'none';
                // A batch behind a diverted one must be refused (and so diverted too), never applied.
                if (error !== undefined) {
                  if (current.fired) expect(error).toBeInstanceOf(InfrastructureError);
                  else expect(error).toBeInstanceOf(StoreBehindError);
                  failureDestination.push(event);
                }
              }
              // The mapping delivers what it never reached; the operator replays the failure destination.
              const rest = inputs.flatMap((log) => {
                const first = log[0]?.input.offset ?? 0;
                const partition = log[0]?.input.partition ?? 0;
                return log.slice((committed[partition] ?? -1) + 1 - first);
              });
              for (const event of failureDestination) await handler(event);
              if (rest.length > 0) await handler(eventOf(rest));
              await expectExactly(inputs);
            },
          ),
          { numRuns: 25 },
        );
      } finally {
        if (origins instanceof KafkaPartitionOrigins) await origins.disconnect();
      }
    });
  },
);
