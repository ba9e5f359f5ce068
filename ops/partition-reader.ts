import { type IHeaders, type Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import type { SourceRecord } from '../functions/shared/msk/event';

/**
 * Reading a topic-partition's records as the event source mapping hands them to the function,
 * for the tools that feed records back through the processor (rebuild, replay).
 */

/** kafkajs's headers as an MSK event carries them: one object per header, values as byte arrays. */
export function eventHeaders(headers: IHeaders | undefined): SourceRecord['headers'] {
  const out: Record<string, number[]>[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined) continue;
      out.push({ [name]: [...(typeof item === 'string' ? Buffer.from(item) : item)] });
    }
  }
  return out;
}

export function sourceRecord(topic: string, partition: number, message: KafkaMessage): SourceRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    key: message.key,
    value: message.value,
    headers: eventHeaders(message.headers),
  };
}

/** The partition's first and next offsets now (the records in between are what it holds). */
export async function partitionBounds(
  kafka: Kafka,
  topic: string,
  partition: number,
): Promise<{ low: number; high: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const entry = offsets.find((o) => o.partition === partition);
    if (entry === undefined) throw new Error(`topic ${topic} has no partition ${partition}`);
    return { low: Number(entry.low), high: Number(entry.high) };
  } finally {
    await admin.disconnect();
  }
}

export async function partitionsOf(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).map((o) => o.partition).sort((a, b) => a - b);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Hands `onBatch` the records of `topic`-`partition` from `from` to `to` (both inclusive), in
 * offset order and in batches of at most `batchSize`, each batch awaited before the next. Reads
 * with a consumer group of its own that commits nothing, so the mapping's group is not touched.
 */
export async function readPartition(
  kafka: Kafka,
  range: {
    topic: string;
    partition: number;
    from: number;
    to: number;
    batchSize: number;
    timeoutMs?: number;
  },
  onBatch: (records: SourceRecord[]) => Promise<void>,
): Promise<void> {
  const { topic, partition, from, to, batchSize } = range;
  if (to < from) return;
  const consumer = kafka.consumer({
    groupId: `surge-tools-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let pending: SourceRecord[] = [];
    let done = false;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`timed out reading ${topic}-${partition} from ${from} to ${to}`)),
        range.timeoutMs ?? 120_000,
      );
      function finish(error?: unknown) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error);
      }
      consumer.on(consumer.events.GROUP_JOIN, () => {
        consumer.seek({ topic, partition, offset: String(from) });
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (batch.partition !== partition || done) return;
            // Transaction markers take offsets without being delivered: the end may be one of them.
            const last = Math.min(to, Number(batch.highWatermark) - 1);
            for (const message of batch.messages) {
              const offset = Number(message.offset);
              if (offset < from || offset > to) continue;
              pending.push(sourceRecord(topic, partition, message));
              if (pending.length >= batchSize || offset >= last) {
                const records = pending;
                pending = [];
                try {
                  await onBatch(records);
                } catch (error) {
                  finish(error);
                  return;
                }
              }
              if (offset >= last) {
                finish();
                return;
              }
            }
          },
        })
        .catch(finish);
    });
  } finally {
    await consumer.disconnect();
  }
}

export const QUIET = logLevel.NOTHING;
