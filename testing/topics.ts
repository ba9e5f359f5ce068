import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';

/**
 * Reading what the handlers wrote to a topic: every message after a mark, up to the topic's end
 * when asked, with keys, headers and timestamps. Used by the testbed and by Surge's own tests.
 */

export interface ReadMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
  /** The record's Kafka timestamp, epoch ms. */
  readonly timestamp: number;
}

function toRead(partition: number, message: KafkaMessage): ReadMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    headers[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return {
    partition,
    offset: Number(message.offset),
    key: message.key,
    value: message.value,
    headers,
    timestamp: Number(message.timestamp),
  };
}

/** Where each partition of a topic ends now, so that a test can read only what it caused. */
export async function topicEnd(brokers: string, topic: string): Promise<Map<number, number>> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** Every message of a topic after `since` (default: from the start), up to the topic's current end. */
export async function readTopic(
  brokers: string,
  topic: string,
  since?: Map<number, number>,
): Promise<ReadMessage[]> {
  const end = await topicEnd(brokers, topic);
  const wanted = [...end].filter(([partition, high]) => high > (since?.get(partition) ?? 0));
  if (wanted.length === 0) return [];
  const kafka = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: `test-reader-${process.pid}-${Math.random()}`,
    maxWaitTimeInMs: 50,
  });
  const messages: ReadMessage[] = [];
  const remaining = new Set(wanted.map(([partition]) => partition));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out reading ${topic}`)), 20_000);
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const [partition] of wanted)
          consumer.seek({ topic, partition, offset: String(since?.get(partition) ?? 0) });
      });
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const high = end.get(partition) ?? 0;
            if (Number(message.offset) < (since?.get(partition) ?? 0) || Number(message.offset) >= high)
              return;
            messages.push(toRead(partition, message));
            if (Number(message.offset) === high - 1) remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
