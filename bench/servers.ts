import { DEFAULT_TOPICS } from '../functions/shared/config';
import { type MockKafka, startMockKafka } from '../local/kafka/mock-cluster';
import { type LocalRedis, startRedis } from '../local/redis/redis-server';

export interface BenchServers {
  readonly redis: LocalRedis;
  readonly kafka: MockKafka;
  /** The variables that point the analytics function at this Redis and this broker. */
  readonly targets: Readonly<Record<string, string>>;
  /** What the analytics function's container reads: this process's environment and `targets`. */
  readonly env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/**
 * A redis-server and a mock broker with Surge's topics (6 partitions each), started for a bench,
 * and the environment that points the analytics function at them.
 */
export async function startBenchServers(): Promise<BenchServers> {
  const [redis, kafka] = await Promise.all([
    startRedis(),
    startMockKafka({ topics: Object.values(DEFAULT_TOPICS).map((name) => ({ name, partitions: 6 })) }),
  ]);
  // The mock cluster names no usable controller, which idempotent producers need.
  const targets = { REDIS_URL: redis.url, KAFKA_BROKERS: kafka.bootstrapServers, KAFKA_IDEMPOTENT: 'false' };
  return {
    redis,
    kafka,
    targets,
    env: { ...process.env, ...targets },
    stop: async () => {
      await Promise.all([redis.stop(), kafka.stop()]);
    },
  };
}
