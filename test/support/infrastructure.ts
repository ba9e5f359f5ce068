import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { DEFAULT_TOPICS } from '../../functions/shared/config';
import { type MockKafka, startMockKafka } from '../../local/kafka/mock-cluster';
import { type LocalRedis, startRedis } from '../../local/redis/redis-server';

export const TEST_PARTITIONS = 3;

export interface Infrastructure {
  readonly redis: LocalRedis;
  readonly kafka: MockKafka;
  /** The environment a deployed function would have, pointing at these servers. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** A redis-server and a Kafka-protocol broker of this test file's own, on free loopback ports. */
export async function startInfrastructure(
  options: { brokers?: number; partitions?: number; maxRequestBytes?: number } = {},
): Promise<Infrastructure> {
  const [redis, kafka] = await Promise.all([
    startRedis(),
    startMockKafka({
      brokers: options.brokers ?? 1,
      topics: Object.values(DEFAULT_TOPICS).map((name) => ({
        name,
        partitions: options.partitions ?? TEST_PARTITIONS,
      })),
      ...(options.maxRequestBytes === undefined ? {} : { maxRequestBytes: options.maxRequestBytes }),
    }),
  ]);
  return {
    redis,
    kafka,
    env: { REDIS_URL: redis.url, KAFKA_BROKERS: kafka.bootstrapServers, KAFKA_IDEMPOTENT: 'false' },
    async stop() {
      await Promise.all([redis.stop(), kafka.stop()]);
    },
  };
}

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
