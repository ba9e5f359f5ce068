import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FleetStats } from '../../functions/domain/model';
import type { GroundTruth } from '../../functions/simulator/ground-truth';
import { loadStageConfig } from '../../lib/config/stage-config';
import type { BatchHandler } from '../../local/event-source/emulator';
import { LocalRuntime, type RuntimeOptions } from '../../local/runtime';
import { simulate } from '../../local/simulator';
import { replayFailed, replayFailedRanges } from '../../ops/replay-failed';
import { toolsContext } from '../../ops/tools-context';
import { expectAggregatesEqual } from '../support/expected-aggregates';
import { readTopic } from '../support/infrastructure';

const PARTITIONS = 3;

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function config(overrides: Record<string, unknown> = {}) {
  return loadStageConfig('dev', {
    kafka: { partitions: PARTITIONS },
    eventSource: { batchSize: 500, ...(overrides.eventSource as object) },
  });
}

async function withRuntime<T>(
  options: Omit<RuntimeOptions, 'port'>,
  body: (runtime: LocalRuntime) => Promise<T>,
): Promise<T> {
  const runtime = await LocalRuntime.start({ ...options, port: 0, kafkaBrokers: '', redisUrl: '' });
  try {
    return await body(runtime);
  } finally {
    await runtime.stop();
  }
}

/** Wraps the handler so that every delivery of a batch holding `partition`'s offsets in [from, to) fails. */
function failingOffsets(partition: string, from: number, to: number) {
  return (handler: BatchHandler): BatchHandler =>
    async (event, context) => {
      if (event.records[partition]?.some((r) => r.offset >= from && r.offset < to)) {
        throw new Error('injected: this batch always fails');
      }
      return handler(event, context);
    };
}

/** `events` from 30 devices, as fast as they go, until every one is committed or diverted. */
async function simulateUntilSettled(runtime: LocalRuntime, events: number) {
  const result = await simulate({
    brokers: runtime.brokers,
    topic: 'iot-data',
    devices: 30,
    events,
    rate: 0,
    badRatio: 0,
  });
  await until(() => runtime.emulator.stats.committed === events, 'all events committed or diverted', 90_000);
  return result;
}

/** Every device through the HTTP query API, and the fleet totals, equal the simulator's ground truth. */
async function expectMatchesTruth(runtime: LocalRuntime, truth: GroundTruth): Promise<void> {
  for (const id of truth.deviceIds()) {
    const response = await fetch(`${runtime.queryUrl}/devices/${id}`);
    expect(response.status).toBe(200);
    expectAggregatesEqual(await response.json(), truth.device(id));
  }
  const stats = (await (await fetch(`${runtime.queryUrl}/stats`)).json()) as FleetStats;
  const file = truth.toJSON();
  expect(stats.records).toBe(file.records);
  expect(stats.devices).toBe(file.devices.length);
  for (const [reason, count] of Object.entries(stats.quarantined))
    expect(count).toBe(file.quarantined[reason as never] ?? 0);
}

describe('local runtime', () => {
  it('runs 20,000 events with bad records to exactly the ground truth, and the DLQ holds exactly the bad ones', async () => {
    await withRuntime({ config: config() }, async (runtime) => {
      const result = await simulate({
        brokers: runtime.brokers,
        topic: 'iot-data',
        devices: 200,
        events: 20_000,
        rate: 0,
        badRatio: 0.02,
      });
      await until(() => runtime.emulator.stats.committed === 20_000, 'all events processed');
      await expectMatchesTruth(runtime, result.truth);

      const dead = await readTopic(runtime.brokers.join(','), 'iot-data-dlq');
      const byReason: Record<string, number> = {};
      for (const message of dead)
        byReason[message.headers['x-reason'] as string] =
          (byReason[message.headers['x-reason'] as string] ?? 0) + 1;
      expect(byReason).toEqual(result.bad);
      const positions = new Set(
        dead.map((m) => `${m.headers['x-source-partition']}@${m.headers['x-source-offset']}`),
      );
      expect(positions.size).toBe(dead.length);
    });
  }, 120_000);

  it('stays exact through handler failures, a Redis restart and a broker outage', async () => {
    let invocation = 0;
    // Fails some invocations before the handler runs, and some after it has applied everything:
    // the redelivery of those must not count twice.
    const wrapHandler =
      (handler: BatchHandler): BatchHandler =>
      async (event, context) => {
        invocation++;
        if (invocation % 7 === 0) throw new Error('injected failure before processing');
        const result = await handler(event, context);
        if (invocation % 11 === 0) throw new Error('injected failure after processing');
        return result;
      };
    const unlimited = config({ eventSource: { retryAttempts: -1, maxRecordAgeSeconds: -1, batchSize: 200 } });
    await withRuntime({ config: unlimited, wrapHandler, durableRedis: true }, async (runtime) => {
      const production = simulate({
        brokers: runtime.brokers,
        topic: 'iot-data',
        devices: 100,
        events: 20_000,
        rate: 8_000,
        badRatio: 0.01,
      });
      await until(() => runtime.emulator.stats.committed > 4_000, 'a quarter processed');
      await runtime.redis?.restart();
      await until(() => runtime.emulator.stats.committed > 9_000, 'half processed');
      await runtime.kafka?.setBrokerDown(-1);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await runtime.kafka?.setBrokerUp(-1);
      const result = await production;
      await until(() => runtime.emulator.stats.committed === 20_000, 'all events processed', 90_000);
      expect(runtime.emulator.stats.failedInvocations).toBeGreaterThan(0);
      expect(runtime.emulator.stats.toFailureDestination).toBe(0);
      await expectMatchesTruth(runtime, result.truth);
    });
  }, 180_000);

  it('diverts batches that keep failing to the failure topic as AWS documents them, and their replay is exact', async () => {
    // Every delivery of iot-data-0's offsets 100..149 fails; the batches after it are refused while
    // the store is behind, so all of that partition from there on goes to the failure topic.
    const wrapHandler = failingOffsets('iot-data-0', 100, 150);
    const giving = config({ eventSource: { retryAttempts: 1, bisectBatchOnError: false, batchSize: 100 } });
    await withRuntime({ config: giving, wrapHandler }, async (runtime) => {
      const result = await simulateUntilSettled(runtime, 3_000);
      expect(runtime.emulator.stats.toFailureDestination).toBeGreaterThan(0);
      const documents = await readTopic(runtime.brokers.join(','), 'iot-data-failed');
      expect(documents).toHaveLength(runtime.emulator.stats.toFailureDestination);
      const first = JSON.parse(documents[0]?.value?.toString() ?? '{}');
      expect(first).toMatchObject({
        version: '1.0',
        requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2 },
        KafkaBatchInfo: { recordInfo: { offset: expect.any(String) } },
        payload: {
          eventSource: 'aws:kafka',
          records: { 'iot-data-0': [expect.objectContaining({ partition: 0 })] },
        },
      });
      expect(documents[0]?.key?.toString()).toBe(
        Buffer.from(first.payload.records['iot-data-0'][0].key, 'base64').toString(),
      );

      const tools = await toolsContext({
        REDIS_URL: runtime.redisUrl,
        KAFKA_BROKERS: runtime.brokers.join(','),
        KAFKA_IDEMPOTENT: 'false',
      });
      try {
        const replayed = await replayFailed({ topic: 'iot-data-failed' }, tools);
        expect(replayed.partitions.map((p) => p.topicPartition)).toEqual(['iot-data-0']);
      } finally {
        await tools.close();
      }
      await expectMatchesTruth(runtime, result.truth);
    });
  }, 180_000);

  it("diverts a partition's very first batch and every one behind it, and their replay is exact", async () => {
    // The store has nothing of iot-data-0 when its first batch is diverted: only where the log begins
    // (the mapping starts at TRIM_HORIZON) tells that the batches after it skip offsets.
    const wrapHandler = failingOffsets('iot-data-0', 0, 50);
    const giving = config({ eventSource: { retryAttempts: 1, bisectBatchOnError: false, batchSize: 100 } });
    expect(giving.eventSource.startingPosition).toBe('TRIM_HORIZON');
    await withRuntime({ config: giving, wrapHandler }, async (runtime) => {
      const result = await simulateUntilSettled(runtime, 3_000);
      const documents = await readTopic(runtime.brokers.join(','), 'iot-data-failed');
      const diverted = documents.flatMap((d) =>
        Object.keys(JSON.parse(d.value?.toString() ?? '{}').payload.records),
      );
      // The failed batch and the ones refused behind it, of that partition only.
      expect(documents.length).toBeGreaterThan(1);
      expect(new Set(diverted)).toEqual(new Set(['iot-data-0']));

      const tools = await toolsContext({
        REDIS_URL: runtime.redisUrl,
        KAFKA_BROKERS: runtime.brokers.join(','),
        KAFKA_IDEMPOTENT: 'false',
      });
      try {
        await replayFailed({ topic: 'iot-data-failed' }, tools);
      } finally {
        await tools.close();
      }
      await expectMatchesTruth(runtime, result.truth);
    });
  }, 180_000);

  it('writes an sqs destination as AWS metadata documents in a file, and the replay from it is exact', async () => {
    const failureFile = join(mkdtempSync(join(tmpdir(), 'surge-sqs-')), 'failed-batches.jsonl');
    // After the partition's first batch: its watermark is known, so the batches behind are refused.
    const wrapHandler = failingOffsets('iot-data-1', 150, 170);
    const viaQueue = config({
      eventSource: { retryAttempts: 1, bisectBatchOnError: false, batchSize: 100, onFailure: 'sqs' },
    });
    await withRuntime({ config: viaQueue, wrapHandler, failureFile }, async (runtime) => {
      const result = await simulateUntilSettled(runtime, 2_000);
      expect(runtime.emulator.stats.toFailureDestination).toBeGreaterThan(0);
      const documents = readFileSync(failureFile, 'utf8').trim().split('\n');
      const first = JSON.parse(documents[0] as string);
      expect(first).toMatchObject({
        version: '1.0',
        requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2 },
        KafkaBatchInfo: {
          recordsInfo: {
            'iot-data-1': {
              firstRecordOffset: expect.any(String),
              lastRecordOffset: expect.any(String),
              firstRecordTimestamp: expect.any(String),
            },
          },
        },
      });
      // Metadata only, as AWS sends a queue: no record bytes.
      expect(first.payload).toBeUndefined();
      const tools = await toolsContext({
        REDIS_URL: runtime.redisUrl,
        KAFKA_BROKERS: runtime.brokers.join(','),
        KAFKA_IDEMPOTENT: 'false',
      });
      try {
        const replayed = await replayFailedRanges({ documents }, tools);
        expect(replayed.unreadable).toEqual([]);
        expect(replayed.partitions.map((p) => p.topicPartition)).toContain('iot-data-1');
      } finally {
        await tools.close();
      }
      await expectMatchesTruth(runtime, result.truth);
    });
  }, 180_000);

  it('keeps memory bounded when producers outrun a slow handler, and the lag drains afterwards', async () => {
    const slow =
      (handler: BatchHandler): BatchHandler =>
      async (event, context) => {
        await new Promise((resolve) => setTimeout(resolve, 25));
        return handler(event, context);
      };
    const maxBufferedRecords = 300;
    await withRuntime(
      { config: config({ eventSource: { batchSize: 100 } }), wrapHandler: slow, maxBufferedRecords },
      async (runtime) => {
        const heapBefore = process.memoryUsage().heapUsed;
        let heapPeak = heapBefore;
        const sampler = setInterval(() => {
          heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
        }, 50);
        try {
          await simulate({
            brokers: runtime.brokers,
            topic: 'iot-data',
            devices: 50,
            events: 30_000,
            rate: 0,
            badRatio: 0,
          });
          const lagWhenProduced = (await runtime.sampleLag()).total;
          expect(lagWhenProduced).toBeGreaterThan(5_000);
          await until(async () => (await runtime.sampleLag()).total === 0, 'the lag to drain', 90_000);
        } finally {
          clearInterval(sampler);
        }
        // Stated bound: at most maxBufferedRecords per partition in memory, and well under 256 MB of heap growth.
        expect(runtime.emulator.stats.maxBuffered).toBeLessThanOrEqual(maxBufferedRecords * PARTITIONS);
        expect(runtime.emulator.stats.pauses).toBeGreaterThan(0);
        expect(heapPeak - heapBefore).toBeLessThan(256 * 1024 * 1024);
        expect(runtime.emulator.stats.committed).toBe(30_000);
      },
    );
  }, 180_000);
});
