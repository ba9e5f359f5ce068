import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPICS } from '../../../functions/shared/config';
import {
  kafkaProducerRetry,
  loadStageConfig,
  maxConcurrentInvocations,
  retryWindowMs,
  retryWorstCaseMs,
  STAGES,
  StageConfigError,
} from '../../../lib/config/stage-config';

describe('stage configuration', () => {
  it.each(STAGES)('accepts the %s defaults', (stage) => {
    expect(loadStageConfig(stage).stage).toBe(stage);
  });

  it('takes the topic names from the functions configuration', () => {
    expect(loadStageConfig('prod').topics).toEqual(DEFAULT_TOPICS);
  });

  it('spreads prod over three availability zones with durable replication', () => {
    const prod = loadStageConfig('prod');
    expect(prod.network.maxAzs).toBe(3);
    expect(prod.kafka).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(prod.cache.multiAz).toBe(true);
  });

  it('applies overrides on top of a stage', () => {
    const config = loadStageConfig('dev', {
      eventSource: { batchSize: 250, provisionedPollers: { minimum: 2, maximum: 4 } },
    });
    expect(config.eventSource).toMatchObject({
      batchSize: 250,
      provisionedPollers: { minimum: 2, maximum: 4 },
    });
    expect(config.eventSource.consumerGroupId).toBe('surge-analytics');
  });

  it.each([
    ['an unknown stage', 'staging', {}, /stage must be one of dev, prod, local, got "staging"/],
    [
      'a topic message limit below 64 KiB',
      'dev',
      { kafka: { maxMessageBytes: 1_000 } },
      /kafka\.maxMessageBytes must be a whole number from 65536 to 8388608, got 1000/,
    ],
    [
      'a topic message limit that is not a number',
      'dev',
      { kafka: { maxMessageBytes: '1MB' } },
      /kafka\.maxMessageBytes must be a whole number from 65536 to 8388608, got "1MB"/,
    ],
    [
      'an unknown durability',
      'prod',
      { cache: { durability: 'always' } },
      /cache\.durability must be one of sync, async, off/,
    ],
    [
      'a replica wait of no time',
      'dev',
      { cache: { waitTimeoutMs: 0 } },
      /cache\.waitTimeoutMs must be a whole number from 1 to 60000/,
    ],
    [
      'a simulator flag that is not a boolean',
      'dev',
      { simulator: 'yes' },
      /simulator must be one of true, false, got "yes"/,
    ],
    [
      'a failure topic that is the dead-letter topic',
      'dev',
      { topics: { failed: 'iot-data-dlq' } },
      /topics\.failed must be a topic of its own/,
    ],
    [
      'a batch size above 10,000',
      'dev',
      { eventSource: { batchSize: 20_000 } },
      /eventSource\.batchSize must be a whole number from 1 to 10000, got 20000/,
    ],
    [
      'a fractional batching window',
      'dev',
      { eventSource: { maxBatchingWindowSeconds: 0.5 } },
      /eventSource\.maxBatchingWindowSeconds must be a whole number from 0 to 300/,
    ],
    [
      'pollers whose minimum exceeds the maximum',
      'dev',
      { eventSource: { provisionedPollers: { minimum: 5, maximum: 2 } } },
      /provisionedPollers\.minimum \(5\) exceeds maximum \(2\)/,
    ],
    [
      'a semi-space above an eighth of the memory',
      'dev',
      { analytics: { memoryMb: 512, semiSpaceMb: 128 } },
      /analytics\.semiSpaceMb must be a whole number from 1 to 64, got 128/,
    ],
    [
      'an initial semi-space above the maximum',
      'dev',
      { analytics: { semiSpaceMb: 32, initialSemiSpaceMb: 64 } },
      /analytics\.initialSemiSpaceMb must be a whole number from 0 to 32, got 64/,
    ],
    [
      'source maps given as a string',
      'dev',
      { analytics: { sourceMaps: 'yes' } },
      /analytics\.sourceMaps must be one of true, false, got "yes"/,
    ],
    [
      'a record age under a minute',
      'dev',
      { eventSource: { maxRecordAgeSeconds: 10 } },
      /eventSource\.maxRecordAgeSeconds must be -1 or from 60 to 604800, got 10/,
    ],
    [
      'more replicas than brokers',
      'dev',
      { kafka: { replicationFactor: 3 } },
      /kafka\.replicationFactor \(3\) exceeds the broker count \(2\)/,
    ],
    [
      'min.insync above replication',
      'prod',
      { kafka: { minInsyncReplicas: 3, replicationFactor: 2 } },
      /kafka\.minInsyncReplicas \(3\) must not exceed kafka\.replicationFactor \(2\)/,
    ],
    [
      'a misspelt setting',
      'dev',
      { eventSource: { batchsize: 10 } },
      /eventSource\.batchsize is not a setting/,
    ],
    [
      'a bad instance type',
      'dev',
      { kafka: { brokerInstanceType: 'm5.large' } },
      /kafka\.brokerInstanceType is not an MSK instance type: "m5\.large"/,
    ],
    [
      'multi-AZ without a replica',
      'dev',
      { cache: { multiAz: true } },
      /cache\.multiAz needs cache\.replicasPerShard of at least 1/,
    ],
    [
      'pollers on LocalStack',
      'local',
      { eventSource: { provisionedPollers: { minimum: 1, maximum: 1 } } },
      /provisionedPollers is not supported by LocalStack/,
    ],
    [
      'a failure destination on LocalStack',
      'local',
      { eventSource: { onFailure: 'kafka' } },
      /onFailure is not supported by LocalStack/,
    ],
    [
      'an invalid topic name',
      'dev',
      { topics: { alerts: 'alerts!' } },
      /topics\.alerts is not a valid Kafka topic name/,
    ],
  ])('rejects %s, naming the setting', (_case, stage, overrides, message) => {
    expect(() => loadStageConfig(stage, overrides)).toThrow(StageConfigError);
    expect(() => loadStageConfig(stage, overrides)).toThrow(message);
  });

  it('reserves no concurrency when told null, for accounts with a small concurrency quota', () => {
    const config = loadStageConfig('dev', { analytics: { reservedConcurrency: null } });
    expect(config.analytics.reservedConcurrency).toBeNull();
    expect(maxConcurrentInvocations(config)).toBe(config.kafka.partitions);
    expect(() => loadStageConfig('dev', { analytics: { reservedConcurrency: 0 } })).toThrow(
      /analytics\.reservedConcurrency must be a whole number from 1 to 1000, got 0/,
    );
  });

  it('gives producers on small brokers a retry schedule long enough for a simultaneous cold start', () => {
    const dev = loadStageConfig('dev');
    const retry = kafkaProducerRetry(dev);
    // 7 containers, 2 connections each, 4 per second: the last get in about 3 s after the first.
    expect(retryWindowMs(retry)).toBeGreaterThanOrEqual(3_000);
    expect(retryWorstCaseMs(retry)).toBeLessThanOrEqual((dev.analytics.timeoutSeconds * 1_000) / 2);
    // Brokers that admit 100 connections a second keep the few quick retries.
    expect(kafkaProducerRetry(loadStageConfig('prod'))).toEqual({
      retries: 3,
      initialRetryTimeMs: 100,
      maxRetryTimeMs: 1_000,
    });
  });

  it('refuses a concurrency that small brokers cannot let in within the function timeout', () => {
    expect(() =>
      loadStageConfig('dev', {
        kafka: { partitions: 200 },
        analytics: { reservedConcurrency: 200, timeoutSeconds: 30 },
      }),
    ).toThrow(
      /kafka\.brokerInstanceType kafka\.t3\.small accepts 4 new connections per broker per second: 201 containers/,
    );
  });

  it('lists every problem at once', () => {
    try {
      loadStageConfig('dev', { eventSource: { batchSize: 0 }, api: { rateLimit: -1 } });
      expect.unreachable();
    } catch (error) {
      expect((error as StageConfigError).problems).toHaveLength(2);
    }
  });
});
