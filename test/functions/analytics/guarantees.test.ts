import type { MSKEvent } from 'aws-lambda';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AnalyticsContainer, createAnalyticsContainer } from '../../../functions/analytics/container';
import { analyticsObservability, createAnalyticsHandler } from '../../../functions/analytics/handler';
import { MAX_ERROR_HEADER_BYTES } from '../../../functions/analytics/outputs';
import { type BatchProcessor, createBatchProcessor } from '../../../functions/analytics/processor';
import { MAX_CLOCK_SKEW_MS } from '../../../functions/domain/validate';
import { loadAnalyticsConfig } from '../../../functions/shared/config';
import { ConfigurationError, RedisError, StoreBehindError } from '../../../functions/shared/errors';
import { KafkaPublisher } from '../../../functions/shared/kafka/publisher';
import { parseMskEvent } from '../../../functions/shared/msk/event';
import { type AnalyticsStore, RedisAnalyticsStore } from '../../../functions/shared/redis/analytics-store';
import { keySpace, STATS_FIELDS } from '../../../functions/shared/redis/layout';
import { RecordedPartitionOrigins } from '../../../functions/shared/redis/recorded-origins';
import { buildMskEvent, type KafkaRecordInput } from '../../../local/msk-event';
import { type Infrastructure, readTopic, startInfrastructure, topicEnd } from '../../support/infrastructure';
import { framed, registry, telemetry, telemetryRecord } from '../../support/records';

/** What the README's Guarantees table promises of the handler, fault by fault, against real servers. */

let infra: Infrastructure;
let redis: Redis;
let store: RedisAnalyticsStore;
let handler: (event: MSKEvent) => Promise<void>;
const containers: AnalyticsContainer[] = [];

beforeAll(async () => {
  infra = await startInfrastructure();
  redis = new Redis(infra.redis.url);
  store = new RedisAnalyticsStore(redis, { keyPrefix: 'surge', windowTtlSeconds: 3600 });
  const container = createAnalyticsContainer(infra.env);
  containers.push(container);
  handler = createAnalyticsHandler({ container: () => container });
});

afterAll(async () => {
  await Promise.all(containers.map((c) => c.close()));
  redis?.disconnect();
  await infra?.stop();
});

beforeEach(async () => {
  await redis.flushall();
});

const keys = keySpace('surge');
const dlq = () => topicEnd(infra.kafka.bootstrapServers, 'iot-data-dlq');

describe('guarantees of the analytics handler', () => {
  it('quarantines a 70,000-character firmware, naming the field, and the next batch on the same container is exact', async () => {
    const since = await dlq();
    const hostile = telemetry({ deviceId: 'hostile', firmware: 'f'.repeat(70_000) });
    await handler(buildMskEvent([telemetryRecord(hostile, { offset: 0 })]));
    await handler(
      buildMskEvent([telemetryRecord(telemetry({ deviceId: 'fresh', temperature: 30.263 }), { offset: 1 })]),
    );

    expect(await store.device('hostile')).toBeUndefined();
    expect((await store.device('fresh'))?.temperature).toEqual({ min: 30.263, max: 30.263, mean: 30.263 });
    const [letter] = await readTopic(infra.kafka.bootstrapServers, 'iot-data-dlq', since);
    expect(letter?.headers['x-reason']).toBe('INVALID');
    expect(letter?.headers['x-error']).toMatch(/value has \d+ bytes, more than the 1024/);
  });

  it('names the field past its limit, and bounds x-error whatever the record held', async () => {
    const since = await dlq();
    const longFirmware = telemetry({ deviceId: 'fw', firmware: 'x'.repeat(65) });
    const longId = telemetry({ deviceId: 'd'.repeat(600) });
    const badLatitude = telemetry({ deviceId: 'lat', location: { lat: -90.5, lon: 0 } });
    await handler(
      buildMskEvent([
        telemetryRecord(longFirmware, { offset: 0 }),
        telemetryRecord(longId, { offset: 1 }),
        telemetryRecord(badLatitude, { offset: 2 }),
      ]),
    );
    const letters = await readTopic(infra.kafka.bootstrapServers, 'iot-data-dlq', since);
    expect(letters.map((l) => l.headers['x-error'])).toEqual([
      expect.stringMatching(/^firmware "x{64}"… \(65 characters\) is longer than 64 characters$/),
      expect.stringMatching(/^deviceId "d{64}"… \(600 characters\) does not match/),
      'location.lat -90.5 is outside -90..90',
    ]);
    for (const letter of letters)
      expect(Buffer.byteLength(letter.headers['x-error'] ?? '')).toBeLessThanOrEqual(MAX_ERROR_HEADER_BYTES);
  });

  it('classifies a record the same way whenever it is delivered: by its own Kafka timestamp, not the clock', async () => {
    const recordTs = Date.UTC(2026, 10, 20);
    const reading = telemetry({ deviceId: 'clock', ts: recordTs + MAX_CLOCK_SKEW_MS });
    const late = telemetry({ deviceId: 'clock', ts: recordTs + MAX_CLOCK_SKEW_MS + 1 });
    const event = buildMskEvent([
      { ...telemetryRecord(reading, { offset: 0 }), timestamp: recordTs },
      { ...telemetryRecord(late, { offset: 1 }), timestamp: recordTs },
    ]);
    const now = vi.spyOn(Date, 'now');
    try {
      now.mockReturnValue(recordTs - 30 * MAX_CLOCK_SKEW_MS);
      await handler(event);
      now.mockReturnValue(recordTs + 30 * MAX_CLOCK_SKEW_MS);
      await handler(event);
    } finally {
      now.mockRestore();
    }
    const stats = await store.stats();
    expect(stats.records).toBe(1);
    expect(stats.quarantined.INVALID).toBe(1);
  });

  it('diverts only the records of a device whose stored state is unreadable, with reason STATE_UNREADABLE', async () => {
    await redis.set(keys.device('corrupt'), 'not a state');
    const since = await dlq();
    const records: KafkaRecordInput[] = [
      telemetryRecord(telemetry({ deviceId: 'corrupt' }), { offset: 0 }),
      telemetryRecord(telemetry({ deviceId: 'healthy' }), { offset: 1 }),
      telemetryRecord(telemetry({ deviceId: 'corrupt', ts: telemetry().ts + 1 }), { offset: 2 }),
    ];
    const addMetric = vi.spyOn(analyticsObservability.metrics, 'addMetric');
    try {
      await handler(buildMskEvent(records));
      expect(addMetric).toHaveBeenCalledWith('Quarantined_STATE_UNREADABLE', 'Count', 2);
    } finally {
      addMetric.mockRestore();
    }
    expect((await store.device('healthy'))?.count).toBe(1);
    expect(await redis.get(keys.device('corrupt'))).toBe('not a state');
    const stats = await store.stats();
    expect(stats).toMatchObject({ records: 1, quarantined: { STATE_UNREADABLE: 2 } });
    const letters = await readTopic(infra.kafka.bootstrapServers, 'iot-data-dlq', since);
    expect(letters.map((l) => [l.headers['x-reason'], l.headers['x-source-offset']])).toEqual([
      ['STATE_UNREADABLE', '0'],
      ['STATE_UNREADABLE', '2'],
    ]);
    expect(letters[0]?.headers['x-error']).toMatch(/device state surge:dev:\{corrupt\} is unreadable/);
    expect(letters[0]?.value).toEqual(records[0]?.value);
  });

  it('corrects the fleet totals for an unreadable device once, however often its batch is delivered', async () => {
    await redis.set(keys.device('corrupt-again'), 'not a state');
    const records: KafkaRecordInput[] = [
      telemetryRecord(telemetry({ deviceId: 'fine' }), { offset: 0 }),
      telemetryRecord(telemetry({ deviceId: 'corrupt-again' }), { offset: 1 }),
      telemetryRecord(telemetry({ deviceId: 'fine', ts: telemetry().ts + 1 }), { offset: 2 }),
      telemetryRecord(telemetry({ deviceId: 'corrupt-again', ts: telemetry().ts + 1 }), { offset: 3 }),
    ];
    await handler(buildMskEvent(records));
    await handler(buildMskEvent(records));
    await handler(buildMskEvent(records.slice(1)));
    expect(await store.stats()).toMatchObject({ records: 2, quarantined: { STATE_UNREADABLE: 2 } });
    expect((await store.device('fine'))?.count).toBe(2);
  });

  it('refuses a batch that starts past where the store stands, applying nothing, and says what to rebuild', async () => {
    await handler(buildMskEvent([telemetryRecord(telemetry({ deviceId: 'gap' }), { offset: 0 })]));
    const addMetric = vi.spyOn(analyticsObservability.metrics, 'addMetric');
    const skipped = buildMskEvent([
      telemetryRecord(telemetry({ deviceId: 'gap', ts: telemetry().ts + 1 }), { offset: 5 }),
    ]);
    try {
      const error = await handler(skipped).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreBehindError);
      expect((error as StoreBehindError).gaps).toEqual([
        { topicPartition: 'iot-data-0', storeWatermark: 0, batchStart: 5 },
      ]);
      expect((error as Error).message).toMatch(/rebuild iot-data-0 from 1/);
      expect(addMetric).toHaveBeenCalledWith('StoreBehind', 'Count', 1);
    } finally {
      addMetric.mockRestore();
    }
    expect((await store.device('gap'))?.count).toBe(1);
    // Contiguous from the watermark: applied.
    await handler(
      buildMskEvent([telemetryRecord(telemetry({ deviceId: 'gap', ts: telemetry().ts + 2 }), { offset: 1 })]),
    );
    expect((await store.device('gap'))?.count).toBe(2);
  });

  describe('a partition the store has nothing of, under a mapping that starts at TRIM_HORIZON', () => {
    let fromStart: (event: MSKEvent) => Promise<void>;
    beforeAll(() => {
      const container = createAnalyticsContainer({
        ...infra.env,
        EVENT_SOURCE_STARTING_POSITION: 'TRIM_HORIZON',
      });
      containers.push(container);
      fromStart = createAnalyticsHandler({ container: () => container });
    });
    const reading = (offset: number) =>
      telemetryRecord(telemetry({ deviceId: 'origin', ts: telemetry().ts + offset }), { offset });

    it('refuses its first batch when it starts past where the log begins (the batch before went to the failure destination), applying nothing', async () => {
      const error = await fromStart(buildMskEvent([5, 6].map(reading))).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreBehindError);
      // The mock cluster's iot-data-0 is empty, so its log begins at 0.
      expect((error as StoreBehindError).gaps).toEqual([
        { topicPartition: 'iot-data-0', storeWatermark: -1, batchStart: 5, logStart: 0 },
      ]);
      expect((error as Error).message).toMatch(
        /nothing applied and its log begins at 0.*rebuild iot-data-0 from 0/,
      );
      expect(await store.device('origin')).toBeUndefined();
      expect((await store.stats()).records).toBe(0);

      // The diverted batch replayed first, then the refused one: both applied, exactly.
      await fromStart(buildMskEvent([0, 1, 2, 3, 4].map(reading)));
      await fromStart(buildMskEvent([5, 6].map(reading)));
      expect((await store.device('origin'))?.count).toBe(7);
    });

    it('refuses the batch after a store that lost everything, where it used to start again from nothing', async () => {
      await fromStart(buildMskEvent([0, 1, 2].map(reading)));
      await redis.flushall();
      await expect(fromStart(buildMskEvent([3, 4].map(reading)))).rejects.toThrow(
        /rebuild iot-data-0 from 0/,
      );
      expect(await store.device('origin')).toBeUndefined();
    });

    it('applies a first batch that starts where the log begins, and asks nothing once the partition is known', async () => {
      await fromStart(buildMskEvent([0, 1].map(reading)));
      expect((await store.device('origin'))?.count).toBe(2);
      // Past the watermark by one: contiguous, applied; the watermark decides from here on.
      await fromStart(buildMskEvent([2].map(reading)));
      expect((await store.device('origin'))?.count).toBe(3);
    });
  });

  describe('a partition the store has nothing of, under a mapping that starts at LATEST', () => {
    const reading = (offset: number) =>
      telemetryRecord(telemetry({ deviceId: 'latest', ts: telemetry().ts + offset }), { offset });
    let fromLatest: (event: MSKEvent) => Promise<void>;
    beforeAll(() => {
      const container = createAnalyticsContainer({ ...infra.env, EVENT_SOURCE_STARTING_POSITION: 'LATEST' });
      containers.push(container);
      fromLatest = createAnalyticsHandler({ container: () => container });
    });

    it('records where the mapping began it (its first batch, wherever in the log), and applies that batch', async () => {
      await fromLatest(buildMskEvent([5, 6].map(reading)));
      expect((await store.device('latest'))?.count).toBe(2);
      expect(await redis.hget(keys.stats, STATS_FIELDS.origin('iot-data-0'))).toBe('5');
      // Known from here on: the watermark decides, and nothing more is recorded.
      await fromLatest(buildMskEvent([7].map(reading)));
      expect(await redis.hget(keys.stats, STATS_FIELDS.origin('iot-data-0'))).toBe('5');
      expect((await store.device('latest'))?.count).toBe(3);
    });

    /**
     * A processor on the real store and the recorded origins, whose store fails the calls `faults`
     * names, one after another (a lost connection), then works.
     */
    async function withFaultyStore(
      faults: ('watermarks' | 'apply')[],
      body: (process: BatchProcessor) => Promise<void>,
    ): Promise<void> {
      const fail = (call: 'watermarks' | 'apply') =>
        faults[0] === call && faults.shift() !== undefined
          ? Promise.reject(new RedisError(`injected: connection lost at ${call}`))
          : undefined;
      const faulty: AnalyticsStore = {
        watermarks: (tps) => fail('watermarks') ?? store.watermarks(tps),
        apply: (plan, onStates) => fail('apply') ?? store.apply(plan, onStates),
        confirmDurable: () => store.confirmDurable(),
      };
      const config = { ...loadAnalyticsConfig(infra.env), eventSourceStartingPosition: 'LATEST' as const };
      const publisher = KafkaPublisher.create(config.kafka, infra.kafka.brokers);
      try {
        const origins = new RecordedPartitionOrigins(redis, 'surge');
        await body(createBatchProcessor({ store: faulty, publisher, registry, config, origins }));
      } finally {
        await publisher.disconnect();
      }
    }
    const batchOf = (offsets: number[]) => parseMskEvent(buildMskEvent(offsets.map(reading)));

    it('refuses the batch behind a first batch that failed before it was applied (diverted), and the replay in order is exact', async () => {
      await withFaultyStore(['apply'], async (process) => {
        const first = batchOf([3, 4, 5]);
        const next = batchOf([6, 7]);
        await expect(process(first)).rejects.toThrow(RedisError);
        const error = await process(next).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreBehindError);
        expect((error as StoreBehindError).gaps).toEqual([
          { topicPartition: 'iot-data-0', storeWatermark: -1, batchStart: 6, logStart: 3 },
        ]);
        expect((error as Error).message).toMatch(/rebuild iot-data-0 from 3/);
        expect(await store.device('latest')).toBeUndefined();

        // Replayed from the failure destination in order: both applied, once.
        await process(first);
        await process(next);
        expect((await store.device('latest'))?.count).toBe(5);
        expect((await store.stats()).records).toBe(5);
      });
    });

    it('replays exactly a first batch diverted with the store unreachable when the batch behind it was diverted too', async () => {
      await withFaultyStore(['watermarks', 'apply'], async (process) => {
        const first = batchOf([3, 4]);
        const second = batchOf([5, 6]);
        const third = batchOf([7]);
        // Nothing recorded: the store was not reached. The second records its own start, then fails.
        await expect(process(first)).rejects.toThrow(/connection lost at watermarks/);
        await expect(process(second)).rejects.toThrow(/connection lost at apply/);
        expect(await redis.hget(keys.stats, STATS_FIELDS.origin('iot-data-0'))).toBe('5');
        await expect(process(third)).rejects.toThrow(StoreBehindError);

        for (const batch of [first, second, third]) await process(batch);
        expect((await store.device('latest'))?.count).toBe(5);
        expect((await store.stats()).records).toBe(5);
      });
    });
  });

  it('counts a start-up failure like a batch failure: logged, counted and thrown for the mapping to retry', async () => {
    const addMetric = vi.spyOn(analyticsObservability.metrics, 'addMetric');
    const broken = createAnalyticsHandler({
      container: () => createAnalyticsContainer({ REDIS_URL: 'http://nope' }),
    });
    try {
      await expect(broken(buildMskEvent([telemetryRecord(telemetry(), { offset: 0 })]))).rejects.toThrow(
        ConfigurationError,
      );
      expect(addMetric).toHaveBeenCalledWith('StartupFailures', 'Count', 1);
      expect(addMetric).toHaveBeenCalledWith('BatchFailures', 'Count', 1);
    } finally {
      addMetric.mockRestore();
    }
  });

  it('keeps a record whose event shape is hostile out of the aggregates without failing the batch', async () => {
    const event = buildMskEvent([
      telemetryRecord(telemetry({ deviceId: 'shape-ok' }), { offset: 0 }),
      { offset: 1, key: 'shape-bad', value: framed(telemetry({ deviceId: 'shape-bad' })) },
    ]);
    const list = event.records['iot-data-0'] ?? [];
    (list[1] as unknown as { headers: unknown }).headers = [null];
    await handler(event);
    expect((await store.device('shape-ok'))?.count).toBe(1);
    expect(await store.device('shape-bad')).toBeUndefined();
    expect((await store.stats()).quarantined.INVALID).toBe(1);
  });
});
