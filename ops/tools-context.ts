import { Kafka, logLevel } from 'kafkajs';
import { type BatchProcessor, createBatchProcessor } from '../functions/analytics/processor';
import { SchemaRegistry } from '../functions/shared/avro/schema-registry';
import { type AnalyticsConfig, loadAnalyticsConfig } from '../functions/shared/config';
import { resolveBrokers } from '../functions/shared/kafka/brokers';
import { KafkaPublisher, kafkaClientConfig, type Publisher } from '../functions/shared/kafka/publisher';
import { RedisAnalyticsStore } from '../functions/shared/redis/analytics-store';
import { connectRedis } from '../functions/shared/redis/connect';

/**
 * What the operator tools run on: the analytics function's own configuration (the same environment
 * variables: REDIS_URL, REDIS_AUTH_SECRET_ARN, KAFKA_BROKERS or MSK_CLUSTER_ARN, KAFKA_AUTH=aws-iam,
 * ...), its store and its processor, so a tool applies records exactly as the function does.
 */
export interface ToolsContext {
  readonly config: AnalyticsConfig;
  readonly kafka: Kafka;
  readonly store: RedisAnalyticsStore;
  readonly processor: BatchProcessor;
  close(): Promise<void>;
}

export async function toolsContext(
  env: NodeJS.ProcessEnv,
  options: { readonly publish?: boolean; readonly acceptGap?: boolean } = {},
): Promise<ToolsContext> {
  const config = loadAnalyticsConfig(env);
  const [redis, brokers] = await Promise.all([connectRedis(config), resolveBrokers(config.kafka)]);
  const kafka = new Kafka({ ...kafkaClientConfig(config.kafka, brokers), logLevel: logLevel.NOTHING });
  const store = new RedisAnalyticsStore(redis, {
    keyPrefix: config.redisKeyPrefix,
    windowTtlSeconds: config.windowTtlSeconds,
    waitReplicas: config.redisWaitReplicas,
    waitTimeoutMs: config.redisWaitTimeoutMs,
  });
  const producer = options.publish ? KafkaPublisher.create(config.kafka, brokers) : undefined;
  // Outputs were acknowledged when the records were first processed; a tool republishes them only when asked.
  const publisher: Publisher = producer ?? { publish: async () => undefined };
  const processor = createBatchProcessor({
    store,
    publisher,
    registry: SchemaRegistry.fromDirectory(),
    config: { ...config, watermarkGapTolerance: options.acceptGap ? -1 : config.watermarkGapTolerance },
  });
  return {
    config,
    kafka,
    store,
    processor,
    async close() {
      await producer?.disconnect();
      redis.disconnect();
    },
  };
}
