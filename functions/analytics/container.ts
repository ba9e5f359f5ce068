import { SchemaRegistry } from '../shared/avro/schema-registry';
import { type AnalyticsConfig, loadAnalyticsConfig } from '../shared/config';
import { resolveBrokers } from '../shared/kafka/brokers';
import { KafkaPartitionOrigins } from '../shared/kafka/partition-origins';
import { KafkaPublisher } from '../shared/kafka/publisher';
import type { PartitionOrigins } from '../shared/partition-origins';
import { RedisAnalyticsStore } from '../shared/redis/analytics-store';
import type { RedisClient } from '../shared/redis/clients';
import { connectRedis } from '../shared/redis/connect';
import { RecordedPartitionOrigins } from '../shared/redis/recorded-origins';
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
  let redis: RedisClient | undefined;
  let publisher: KafkaPublisher | undefined;
  let brokerOrigins: KafkaPartitionOrigins | undefined;
  let building: Promise<BatchProcessor> | undefined;

  async function build(bootstrapServers?: string): Promise<BatchProcessor> {
    const [client, brokers] = await Promise.all([
      connectRedis(config),
      resolveBrokers(config.kafka, bootstrapServers),
    ]);
    redis = client;
    publisher = KafkaPublisher.create(config.kafka, brokers);
    // Both connections are made while the first batch is decoded.
    const { summaries, alerts, deadLetter } = config.topics;
    publisher.warmUp([summaries, alerts, deadLetter]);
    const store = new RedisAnalyticsStore(client, {
      keyPrefix: config.redisKeyPrefix,
      windowTtlSeconds: config.windowTtlSeconds,
      waitReplicas: config.redisWaitReplicas,
      mergeKnownHeads: config.redisMergeKnownHeads,
      knownHeadsMax: config.redisKnownHeadsMax,
      waitTimeoutMs: config.redisWaitTimeoutMs,
    });
    store.warmUp();
    // Where a partition's first batch must start: the log's start for a mapping at TRIM_HORIZON,
    // the first offset it delivered (recorded in the store) for one at LATEST; unset, unchecked.
    let origins: PartitionOrigins | undefined;
    if (config.watermarkGapTolerance >= 0) {
      if (config.eventSourceStartingPosition === 'TRIM_HORIZON') {
        origins = brokerOrigins = new KafkaPartitionOrigins(config.kafka, brokers);
      } else if (config.eventSourceStartingPosition === 'LATEST') {
        origins = new RecordedPartitionOrigins(client, config.redisKeyPrefix);
      }
    }
    return createBatchProcessor({ store, publisher, registry, config, origins });
  }

  return {
    config,
    processor(bootstrapServers) {
      if (building === undefined) {
        building = build(bootstrapServers);
        // A failed start-up (say, a broker lookup) is retried by the next invocation.
        building.catch(() => {
          building = undefined;
        });
      }
      return building;
    },
    async close() {
      await Promise.all([publisher?.disconnect(), brokerOrigins?.disconnect()]);
      redis?.disconnect();
    },
  };
}
