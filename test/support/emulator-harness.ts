import type { MSKEvent } from 'aws-lambda';
import { type IHeaders, Kafka, logLevel } from 'kafkajs';
import { expect } from 'vitest';
import { parseMskEvent } from '../../functions/shared/msk/event';
import {
  type EmulatorOptions,
  EventSourceEmulator,
  type FailedBatch,
} from '../../local/event-source/emulator';
import type { MockKafka } from '../../local/kafka/mock-cluster';

export interface Run {
  readonly events: MSKEvent[];
  readonly failed: FailedBatch[];
  readonly emulator: EventSourceEmulator;
}

export const offsets = (event: MSKEvent) => parseMskEvent(event).map((r) => r.offset);
export const failedOffsets = (batch: FailedBatch | undefined) =>
  (batch?.partitions ?? []).flatMap((p) => p.records.map((r) => Number(r.offset)));

export interface ProducedRecord {
  readonly partition?: number;
  readonly key?: string;
  readonly value: Buffer | string;
  readonly headers?: IHeaders;
  readonly timestamp?: number;
}

/** Topics on a test's own broker, and emulators over them that stop once a condition holds. */
export function emulatorHarness(kafka: MockKafka) {
  let topicCount = 0;
  const producer = () =>
    new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer({ idempotent: false });

  async function produce(topic: string, records: readonly ProducedRecord[]): Promise<void> {
    const p = producer();
    await p.connect();
    for (let i = 0; i < records.length; i += 500) {
      await p.send({
        topic,
        acks: -1,
        messages: records.slice(i, i + 500).map((r) => ({
          partition: r.partition ?? 0,
          key: r.key ?? null,
          value: r.value,
          headers: r.headers,
          timestamp: r.timestamp === undefined ? undefined : String(r.timestamp),
        })),
      });
    }
    await p.disconnect();
  }

  async function newTopic(partitions: number): Promise<string> {
    const topic = `emulator-${process.pid}-${++topicCount}`;
    await kafka.createTopic({ name: topic, partitions });
    return topic;
  }

  /** A new topic with `counts[p]` records on partition p (values "p-offset", or `size` bytes). */
  async function topicWith(counts: number[], size?: number, timestamp?: number): Promise<string> {
    const topic = await newTopic(counts.length);
    await produce(
      topic,
      counts.flatMap((count, partition) =>
        Array.from({ length: count }, (_, i) => ({
          partition,
          key: `k-${i}`,
          value: size === undefined ? `${partition}-${i}` : Buffer.alloc(size, i),
          timestamp,
        })),
      ),
    );
    return topic;
  }

  /** The options of a test's emulator: small batches, short windows, fast retries; `overrides` on top. */
  function options_(topic: string, overrides: Partial<EmulatorOptions> = {}): EmulatorOptions {
    return {
      brokers: kafka.brokers,
      topic,
      consumerGroupId: `${topic}-group`,
      startingPosition: 'TRIM_HORIZON',
      batchSize: 100,
      batchingWindowMs: 50,
      maxConcurrency: 10,
      retryAttempts: 2,
      maxRecordAgeMs: -1,
      bisectBatchOnError: false,
      reportBatchItemFailures: false,
      timeoutMs: 5_000,
      retryBaseDelayMs: 10,
      handler: async () => undefined,
      ...overrides,
    };
  }

  /** Runs an emulator until `done` holds (or `waitMs` pass), then stops it. */
  async function run(
    topic: string,
    options: Partial<EmulatorOptions> & { handler?: EmulatorOptions['handler'] },
    done: (run: Run) => boolean,
    waitMs = 20_000,
    during?: (run: Run) => Promise<void>,
  ): Promise<Run> {
    const events: MSKEvent[] = [];
    const failed: FailedBatch[] = [];
    const handler = options.handler ?? (async () => undefined);
    const emulator = new EventSourceEmulator(
      options_(topic, {
        onFailure: async (batch) => {
          failed.push(batch);
        },
        ...options,
        handler: async (event, context) => {
          events.push(event);
          return handler(event, context);
        },
      }),
    );
    const result = { events, failed, emulator };
    await emulator.start();
    await during?.(result);
    const deadline = Date.now() + waitMs;
    while (!done(result) && Date.now() < deadline && emulator.failure === undefined) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await emulator.stop();
    expect(emulator.failure, 'the emulator stopped on its own').toBeUndefined();
    expect(done(result), 'the run did not reach its end').toBe(true);
    return result;
  }

  async function committed(topic: string): Promise<number[]> {
    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const [group] = await admin.fetchOffsets({ groupId: `${topic}-group`, topics: [topic] });
    await admin.disconnect();
    return (group?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
  }

  return { topicWith, newTopic, produce, run, committed, options: options_ };
}

export type EmulatorHarness = ReturnType<typeof emulatorHarness>;
