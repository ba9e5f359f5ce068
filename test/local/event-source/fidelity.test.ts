import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMskEvent } from '../../../functions/shared/msk/event';
import { batchVerdict } from '../../../local/event-source/batch-response';
import { MAX_PAYLOAD_BYTES, RETRIES_WITH_DESTINATION_CAP } from '../../../local/event-source/emulator';
import { type MockKafka, startMockKafka } from '../../../local/kafka/mock-cluster';
import {
  type EmulatorHarness,
  emulatorHarness,
  failedOffsets,
  offsets,
} from '../../support/emulator-harness';

let kafka: MockKafka;
let h: EmulatorHarness;

beforeAll(async () => {
  kafka = await startMockKafka({ brokers: 1, maxRequestBytes: 16 * 1024 * 1024 });
  h = emulatorHarness(kafka);
});

afterAll(async () => {
  await kafka?.stop();
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('partial batch responses, as AWS reads them', () => {
  it('fails the whole batch when an identifier names an offset in a gap or past the batch, and retries it', async () => {
    const topic = await h.topicWith([4]);
    let calls = 0;
    const { events, failed } = await h.run(
      topic,
      {
        batchingWindowMs: 300,
        reportBatchItemFailures: true,
        handler: async () => {
          calls++;
          if (calls === 1)
            return { batchItemFailures: [{ itemIdentifier: { partition: `${topic}-0`, offset: 99 } }] };
          return { batchItemFailures: [] };
        },
      },
      (r) => r.emulator.stats.committed === 4,
    );
    // Nothing committed on the bad answer: the same four records again.
    expect(events.map(offsets)).toEqual([range(0, 3), range(0, 3)]);
    expect(failed).toEqual([]);
    expect(await h.committed(topic)).toEqual([4]);
  });

  it('goes on whatever the handler answers, even with no retries left', async () => {
    const topic = await h.topicWith([3, 3]);
    const answers: unknown[] = [
      { batchItemFailures: [{ itemIdentifier: { partition: `${topic}-0`, offset: 3 } }] },
      { batchItemFailures: [{ itemIdentifier: { partition: `${topic}-7`, offset: 0 } }] },
      { batchItemFailures: [{}] },
      { batchItemFailures: 'all' },
      'ok',
      42,
    ];
    let call = 0;
    const { failed, emulator } = await h.run(
      topic,
      {
        batchSize: 1,
        retryAttempts: 0,
        reportBatchItemFailures: true,
        handler: async () => answers[call++ % answers.length],
      },
      (r) => r.emulator.stats.committed === 6,
    );
    expect(emulator.failure).toBeUndefined();
    expect(failed.flatMap(failedOffsets).sort()).toEqual([0, 0, 1, 1, 2, 2]);
    expect(await h.committed(topic)).toEqual([3, 3]);
  });

  it('never reads an answer as naming a record outside the batch, whatever the answer (property)', () => {
    const delivered = [
      { partition: 0, offset: 5 },
      { partition: 0, offset: 6 },
      { partition: 2, offset: 9 },
    ];
    const identifier = fc.record({
      partition: fc.oneof(fc.constantFrom('t-0', 't-2', 't-1', 't-'), fc.anything()),
      offset: fc.oneof(fc.constantFrom(5, 6, 9, 7, -1), fc.anything()),
    });
    const answer = fc.oneof(
      fc.anything(),
      fc.record({
        batchItemFailures: fc.array(fc.oneof(fc.record({ itemIdentifier: identifier }), fc.anything())),
      }),
    );
    fc.assert(
      fc.property(answer, (response) => {
        const verdict = batchVerdict(response, 't', delivered);
        if (verdict.kind !== 'partial') return;
        for (const [partition, offset] of verdict.failedFrom) {
          expect(delivered).toContainEqual({ partition, offset });
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('spans partitions: each commits before its own lowest failure, and only the failed rest is retried', async () => {
    const topic = await h.topicWith([4, 4, 4]);
    let calls = 0;
    const { events } = await h.run(
      topic,
      {
        batchingWindowMs: 500,
        reportBatchItemFailures: true,
        handler: async () => {
          calls++;
          if (calls > 1) return {};
          return {
            batchItemFailures: [
              { itemIdentifier: { partition: `${topic}-0`, offset: 2 } },
              { itemIdentifier: { partition: `${topic}-2`, offset: 3 } },
              { itemIdentifier: { partition: `${topic}-2`, offset: 1 } },
            ],
          };
        },
      },
      (r) => r.emulator.stats.committed === 12,
    );
    const [first, second] = events;
    // As AWS combines them: one invocation carries all three partitions.
    expect(Object.keys(first?.records ?? {}).sort()).toEqual([`${topic}-0`, `${topic}-1`, `${topic}-2`]);
    const retried = parseMskEvent(second)
      .map((r) => `${r.partition}@${r.offset}`)
      .sort();
    expect(retried).toEqual(['0@2', '0@3', '2@1', '2@2', '2@3']);
    expect(await h.committed(topic)).toEqual([4, 4, 4]);
  });
});

describe('retries and bisect, as AWS runs them', () => {
  it('retries the same records while new ones arrive, and gives up on those records only', async () => {
    const topic = await h.topicWith([5]);
    const { events, failed } = await h.run(
      topic,
      {
        batchingWindowMs: 200,
        retryAttempts: 2,
        retryBaseDelayMs: 200,
        handler: async (event) => {
          if (offsets(event).includes(0)) throw new Error('first batch fails');
        },
      },
      (r) => r.emulator.stats.committed === 10,
      20_000,
      // Five more arrive while the first batch waits for its retry.
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 600));
        await h.produce(
          topic,
          range(5, 9).map((i) => ({ value: `0-${i}` })),
        );
      },
    );
    expect(events.slice(0, 3).map(offsets)).toEqual([range(0, 4), range(0, 4), range(0, 4)]);
    expect(events.slice(3).flatMap(offsets)).toEqual(range(5, 9));
    expect(failed).toHaveLength(1);
    expect(failedOffsets(failed[0])).toEqual(range(0, 4));
    expect(failed[0]?.attempts).toBe(3);
  });

  it('bisects a 1,000-record batch until exactly the poison record reaches the destination', async () => {
    const topic = await h.topicWith([1_000]);
    const processed = new Set<number>();
    const { failed } = await h.run(
      topic,
      {
        batchSize: 1_000,
        batchingWindowMs: 2_000,
        bisectBatchOnError: true,
        retryAttempts: 5,
        retryBaseDelayMs: 1,
        handler: async (event) => {
          const batch = offsets(event);
          if (batch.includes(337)) throw new Error('record 337 is poison');
          for (const offset of batch) processed.add(offset);
        },
      },
      (r) => r.emulator.stats.committed === 1_000,
      60_000,
    );
    expect(failed.flatMap(failedOffsets)).toEqual([337]);
    expect(failed[0]).toMatchObject({ condition: 'RetryAttemptsExhausted', attempts: 10 + 6 });
    expect(processed.size).toBe(999);
  }, 90_000);

  it(`caps retries -1 at ${RETRIES_WITH_DESTINATION_CAP} when there is a failure destination`, async () => {
    const topic = await h.topicWith([1]);
    const { events, failed } = await h.run(
      topic,
      {
        retryAttempts: -1,
        retryBaseDelayMs: 1,
        handler: async () => {
          throw new Error('always');
        },
      },
      (r) => r.failed.length === 1,
      30_000,
    );
    expect(events).toHaveLength(RETRIES_WITH_DESTINATION_CAP + 1);
    expect(failed[0]?.attempts).toBe(RETRIES_WITH_DESTINATION_CAP + 1);
  });

  it('keeps retrying -1 without a failure destination', async () => {
    const topic = await h.topicWith([1]);
    const { emulator } = await h.run(
      topic,
      {
        retryAttempts: -1,
        retryBaseDelayMs: 1,
        onFailure: undefined,
        handler: async () => {
          throw new Error('always');
        },
      },
      (r) => r.events.length >= RETRIES_WITH_DESTINATION_CAP + 3,
      30_000,
    );
    expect(emulator.stats.toFailureDestination).toBe(0);
  });
});

describe('what is never delivered', () => {
  it('never sends a record older than the maximum record age: it goes to the destination uninvoked', async () => {
    const topic = await h.topicWith([3], undefined, Date.now() - 10 * 60_000);
    await h.produce(topic, [{ value: 'young' }]);
    const { events, failed } = await h.run(
      topic,
      { maxRecordAgeMs: 60_000, batchingWindowMs: 300 },
      (r) => r.emulator.stats.committed === 4,
    );
    expect(events.flatMap(offsets)).toEqual([3]);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ condition: 'RecordAgeExceeded', attempts: 0 });
    expect(failedOffsets(failed[0])).toEqual([0, 1, 2]);
  });

  it('refuses a record that no 6 MB event can hold (MaximumPayloadSizeExceeded) and delivers its neighbours', async () => {
    const topic = await h.newTopic(1);
    await h.produce(topic, [
      { value: 'before' },
      // 4.8 MB in base64 is 6.4 MB of event.
      { value: Buffer.alloc(4_800_000, 1) },
      { value: 'after' },
    ]);
    const { events, failed } = await h.run(
      topic,
      { batchingWindowMs: 300 },
      (r) => r.emulator.stats.committed === 3,
    );
    expect(events.flatMap(offsets)).toEqual([0, 2]);
    expect(failed[0]).toMatchObject({ condition: 'MaximumPayloadSizeExceeded', attempts: 0 });
    expect(failedOffsets(failed[0])).toEqual([1]);
  });

  it('counts headers into the 6 MB payload', async () => {
    const topic = await h.newTopic(1);
    // Small values, 400 KB of headers each: 1.6 MB of event per record as arrays of byte values.
    await h.produce(
      topic,
      range(0, 9).map((i) => ({ value: `v${i}`, headers: { blob: Buffer.alloc(400_000, 7) } })),
    );
    const { events } = await h.run(
      topic,
      { batchingWindowMs: 500 },
      (r) => r.emulator.stats.committed === 10,
    );
    expect(events.length).toBeGreaterThan(2);
    for (const event of events) expect(JSON.stringify(event).length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
  });
});

describe('headers', () => {
  it('keeps every value of a repeated header, and binary values byte for byte', async () => {
    const topic = await h.newTopic(1);
    await h.produce(topic, [
      {
        value: 'v',
        headers: { trace: [Buffer.from([0xff, 0x00, 0x80]), Buffer.from('second')], plain: 'x' },
      },
    ]);
    const { events } = await h.run(topic, {}, (r) => r.emulator.stats.committed === 1);
    const record = events[0]?.records[`${topic}-0`]?.[0] as unknown as {
      headers: Record<string, number[]>[];
    };
    expect(record.headers).toEqual([
      { trace: [0xff, 0x00, 0x80] },
      { trace: [...Buffer.from('second')] },
      { plain: [...Buffer.from('x')] },
    ]);
  });
});
