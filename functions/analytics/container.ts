import type { Redis } from 'ioredis';
import { SchemaRegistry } from '../shared/avro/schema-registry';
import { type AnalyticsConfig, loadAnalyticsConfig } from '../shared/config';
import { resolveBrokers } from '../shared/kafka/brokers';
import { KafkaPublisher } from '../shared/kafka/publisher';
import { createRedisClient, RedisAnalyticsStore } from '../shared/redis/analytics-store';
import { type BatchProcessor, createBatchProcessor } from './processor';

/** What one Lambda container (or one local runtime) keeps across invocations. */
export interface AnalyticsContainer {
  readonly config: AnalyticsConfig;
  /** The processor, built on first use: the brokers may come from the first event. */
  processor(bootstrapServers?: string): Promise<BatchProcessor>;
  close(): Promise<void>;
}

/** Wires the real adapters from the environment: Redis, Kafka, the schemas in schemas/. */
export function createAnalyticsContainer(env: NodeJS.ProcessEnv = process.env): AnalyticsContainer {
  const config = loadAnalyticsConfig(env);
  const registry = SchemaRegistry.fromDirectory();
  const redis: Redis = createRedisClient(config.redisUrl);
  const store = new RedisAnalyticsStore(redis, {
    keyPrefix: config.redisKeyPrefix,
    windowTtlSeconds: config.windowTtlSeconds,
  });
  let publisher: KafkaPublisher | undefined;
  let building: Promise<BatchProcessor> | undefined;

  return {
    config,
    processor(bootstrapServers) {
      if (building === undefined) {
        building = (async () => {
          publisher = KafkaPublisher.create(
            config.kafka,
            await resolveBrokers(config.kafka, bootstrapServers),
          );
          return createBatchProcessor({ store, publisher, registry, config });
        })();
        // A failed start-up (say, a broker lookup) is retried by the next invocation.
        building.catch(() => {
          building = undefined;
        });
      }
      return building;
    },
    async close() {
      await publisher?.disconnect();
      redis.disconnect();
    },
  };
}
