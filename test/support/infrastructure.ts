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

export { type ReadMessage, readTopic, topicEnd } from '../../testing/topics';
