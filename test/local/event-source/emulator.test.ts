import type { MSKEvent } from 'aws-lambda';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMskEvent } from '../../../functions/shared/msk/event';
import { MAX_PAYLOAD_BYTES } from '../../../local/event-source/emulator';
import { type MockKafka, startMockKafka } from '../../../local/kafka/mock-cluster';
import {
  type EmulatorHarness,
  emulatorHarness,
  failedOffsets,
  offsets,
} from '../../support/emulator-harness';

let kafka: MockKafka;
let harness: EmulatorHarness;

beforeAll(async () => {
  kafka = await startMockKafka({ brokers: 1 });
  harness = emulatorHarness(kafka);
});

afterAll(async () => {
  await kafka?.stop();
});

const topicWith = (...args: Parameters<EmulatorHarness['topicWith']>) => harness.topicWith(...args);
const run = (...args: Parameters<EmulatorHarness['run']>) => harness.run(...args);
const committed = (topic: string) => harness.committed(topic);

const values = (events: MSKEvent[]) =>
  events.flatMap((e) => parseMskEvent(e).map((r) => r.value?.toString())).sort();

describe('event source emulator', () => {
  it("starts a LATEST mapping after each partition's last record: nothing before it is delivered, and every record produced after, however soon", async () => {
    const topic = await topicWith([5, 3]);
    const after = ['new-0', 'new-1', 'new-2', 'new-3'];
    // Connected ahead, so that the records are sent the moment the mapping has started.
    const producer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const { events } = await run(
      topic,
      { startingPosition: 'LATEST' },
      (r) => r.emulator.stats.committed === after.length,
      20_000,
      async () => {
        const messages = after.map((value, i) => ({ partition: i % 2, value }));
        await producer.send({ topic, acks: -1, messages });
        await producer.disconnect();
      },
    );
    expect(values(events)).toEqual(after);
    expect(await committed(topic)).toEqual([7, 5]);
  });

  it('starts a LATEST mapping of a group with committed offsets where the group stands, not at the end', async () => {
    const topic = await topicWith([2]);
    const producer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const send = (...messages: string[]) =>
      producer.send({ topic, acks: -1, messages: messages.map((value) => ({ partition: 0, value })) });
    await run(
      topic,
      { startingPosition: 'LATEST' },
      (r) => r.emulator.stats.committed === 2,
      20_000,
      async () => void (await send('a', 'b')),
    );
    // Produced while no mapping runs: the group's committed offset, not the log's end, says where to go on.
    await send('c', 'd');
    await producer.disconnect();
    // The mock cluster keeps a departed member for ~30 s before it hands its partitions over.
    const { events } = await run(
      topic,
      { startingPosition: 'LATEST' },
      (r) => r.emulator.stats.committed === 2,
      50_000,
    );
    expect(values(events)).toEqual(['c', 'd']);
    expect(await committed(topic)).toEqual([6]);
  }, 90_000);

  it('delivers MSK events of at most the batch size, in offset order, and commits what succeeded', async () => {
    const topic = await topicWith([25]);
    const { events } = await run(topic, { batchSize: 10 }, (r) => r.emulator.stats.committed === 25);
    expect(events.map((e) => offsets(e).length)).toEqual([10, 10, 5]);
    expect(events.flatMap(offsets)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const [first] = events;
    expect(first?.eventSource).toBe('aws:kafka');
    expect(Object.keys(first?.records ?? {})).toEqual([`${topic}-0`]);
    expect(parseMskEvent(first)[0]?.value?.toString()).toBe('0-0');
    expect(await committed(topic)).toEqual([25]);
  });

  it('waits for the batching window to gather a batch smaller than the batch size', async () => {
    const topic = await topicWith([7]);
    const { events } = await run(
      topic,
      { batchSize: 100, batchingWindowMs: 1_500 },
      (r) => r.emulator.stats.committed === 7,
    );
    expect(events.map((e) => offsets(e).length)).toEqual([7]);
  });

  it('cuts a batch before it would pass the 6 MB payload limit', async () => {
    const topic = await topicWith([10], 700_000);
    const { events } = await run(
      topic,
      { batchSize: 100, batchingWindowMs: 500 },
      (r) => r.emulator.stats.committed === 10,
    );
    expect(events.length).toBeGreaterThan(1);
    for (const event of events) expect(JSON.stringify(event).length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    expect(events.flatMap(offsets)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('retries a failing batch, then hands it to the failure destination and moves on', async () => {
    const topic = await topicWith([5, 3]);
    const { events, failed } = await run(
      topic,
      {
        retryAttempts: 2,
        maxPartitionsPerInvocation: 1,
        handler: async (event) => {
          if (Object.keys(event.records)[0] === `${topic}-0`) throw new Error('poison');
        },
      },
      (r) => r.emulator.stats.committed === 8,
    );
    expect(events.filter((e) => Object.keys(e.records)[0] === `${topic}-0`)).toHaveLength(3);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      attempts: 3,
      error: 'Error: poison',
      condition: 'RetryAttemptsExhausted',
    });
    expect(failed[0]?.partitions.map((p) => p.partition)).toEqual([0]);
    expect(failedOffsets(failed[0])).toEqual([0, 1, 2, 3, 4]);
    expect(await committed(topic)).toEqual([5, 3]);
  });

  it('gives up on records that grow older than the maximum record age while they are retried', async () => {
    // Stamped 4 s ahead: young through the group join, then old enough after a few retries.
    const topic = await topicWith([2], undefined, Date.now() + 4_000);
    const { failed } = await run(
      topic,
      {
        retryAttempts: -1,
        maxRecordAgeMs: 1_000,
        handler: async () => {
          throw new Error('down');
        },
      },
      (r) => r.failed.length === 1,
    );
    expect(failedOffsets(failed[0])).toEqual([0, 1]);
    expect(failed[0]).toMatchObject({ condition: 'RecordAgeExceeded' });
    expect(failed[0]?.attempts).toBeGreaterThan(1);
  });

  it('counts a timeout as a failure', async () => {
    const topic = await topicWith([1]);
    const { failed } = await run(
      topic,
      { retryAttempts: 0, timeoutMs: 50, handler: () => new Promise((resolve) => setTimeout(resolve, 300)) },
      (r) => r.failed.length === 1,
    );
    expect(failed[0]?.error).toMatch(/TimeoutError: Task timed out after 50 ms/);
  });

  it('bisects a failing batch until only the poison record goes to the failure destination', async () => {
    const topic = await topicWith([8]);
    const processed: number[] = [];
    const { failed } = await run(
      topic,
      {
        batchSize: 8,
        batchingWindowMs: 300,
        bisectBatchOnError: true,
        retryAttempts: 2,
        handler: async (event) => {
          const batch = offsets(event);
          if (batch.includes(5)) throw new Error('record 5 is poison');
          processed.push(...batch);
        },
      },
      (r) => r.emulator.stats.committed === 8,
    );
    expect(failed.flatMap(failedOffsets)).toEqual([5]);
    expect(processed.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 6, 7]);
  });

  it('honours a partial batch response: commits before the failed record and redelivers from it', async () => {
    const topic = await topicWith([6]);
    let calls = 0;
    const { events } = await run(
      topic,
      {
        batchingWindowMs: 300,
        reportBatchItemFailures: true,
        handler: async () => {
          calls++;
          return calls === 1
            ? { batchItemFailures: [{ itemIdentifier: { partition: `${topic}-0`, offset: 3 } }] }
            : {};
        },
      },
      (r) => r.emulator.stats.committed === 6,
    );
    expect(events.map((e) => offsets(e))).toEqual([
      [0, 1, 2, 3, 4, 5],
      [3, 4, 5],
    ]);
  });

  it('runs at most the configured number of invocations at once, one per partition', async () => {
    const topic = await topicWith([20, 20, 20, 20]);
    const active = new Set<string>();
    let overlapOnPartition = false;
    const { emulator } = await run(
      topic,
      {
        batchSize: 5,
        maxConcurrency: 2,
        maxPartitionsPerInvocation: 1,
        handler: async (event) => {
          const key = Object.keys(event.records)[0] as string;
          if (active.has(key)) overlapOnPartition = true;
          active.add(key);
          await new Promise((resolve) => setTimeout(resolve, 30));
          active.delete(key);
        },
      },
      (r) => r.emulator.stats.committed === 80,
    );
    expect(emulator.stats.maxInFlight).toBe(2);
    expect(overlapOnPartition).toBe(false);
  });

  it('commits only after success: a new consumer of the group gets back what never succeeded', async () => {
    const topic = await topicWith([4]);
    await run(
      topic,
      {
        retryAttempts: -1,
        handler: async () => {
          throw new Error('not yet');
        },
      },
      (r) => r.events.length >= 2,
    );
    expect(await committed(topic)).toEqual([-1]);
    // The mock cluster keeps a departed member for ~30 s before it hands its partitions over.
    const second = await run(topic, {}, (r) => r.emulator.stats.committed === 4, 50_000);
    expect(second.events.flatMap(offsets)).toEqual([0, 1, 2, 3]);
    expect(await committed(topic)).toEqual([4]);
  }, 90_000);

  it('pauses fetching when its buffer is full, so buffered records stay bounded', async () => {
    const topic = await topicWith([3_000]);
    const { emulator } = await run(
      topic,
      {
        batchSize: 50,
        maxBufferedRecords: 200,
        handler: () => new Promise((resolve) => setTimeout(resolve, 2)),
      },
      (r) => r.emulator.stats.committed === 3_000,
    );
    expect(emulator.stats.maxBuffered).toBeLessThanOrEqual(200);
    expect(emulator.stats.pauses).toBeGreaterThan(0);
  });
});
