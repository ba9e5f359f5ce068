import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadAnalyticsConfig, loadQueryConfig } from '../../../functions/shared/config';
import { ConfigurationError } from '../../../functions/shared/errors';

const base = { REDIS_URL: 'redis://127.0.0.1:6379' };

describe('loadAnalyticsConfig', () => {
  it('fills in the documented defaults', () => {
    const config = loadAnalyticsConfig(base);
    expect(config).toMatchObject({
      redisUrl: base.REDIS_URL,
      kafka: { auth: 'none', idempotent: true, compression: 'none' },
      topics: {
        input: 'iot-data',
        summaries: 'processed-data',
        alerts: 'iot-alerts',
        deadLetter: 'iot-data-dlq',
      },
      alertTemperatureThreshold: DEFAULTS.alertTemperatureThreshold,
      windowTtlSeconds: 7 * 24 * 3600,
    });
    expect(config.kafka.brokers).toBeUndefined();
    expect(config).toMatchObject({
      topics: { failed: 'iot-data-failed' },
      kafka: { maxMessageBytes: 1_048_576 },
      redisWaitReplicas: 0,
      redisWaitTimeoutMs: 1_000,
      redisMergeKnownHeads: true,
      // Outside Lambda (no AWS_LAMBDA_FUNCTION_MEMORY_SIZE): the most it keeps.
      redisKnownHeadsMax: 100_000,
      watermarkGapTolerance: 0,
    });
    // Unset: nothing says where a partition's first batch must start.
    expect(config.eventSourceStartingPosition).toBeUndefined();
  });

  it('reads the guarantees settings: output size limit, replica wait, watermark gap', () => {
    const config = loadAnalyticsConfig({
      ...base,
      KAFKA_MAX_MESSAGE_BYTES: '65536',
      REDIS_WAIT_REPLICAS: '2',
      REDIS_WAIT_TIMEOUT_MS: '250',
      WATERMARK_GAP_TOLERANCE: '-1',
      TOPIC_FAILED: 'failed-batches',
      EVENT_SOURCE_STARTING_POSITION: 'TRIM_HORIZON',
    });
    expect(config).toMatchObject({
      eventSourceStartingPosition: 'TRIM_HORIZON',
      kafka: { maxMessageBytes: 65_536 },
      redisWaitReplicas: 2,
      redisWaitTimeoutMs: 250,
      watermarkGapTolerance: -1,
      topics: { failed: 'failed-batches' },
    });
  });

  it.each([
    [
      { KAFKA_MAX_MESSAGE_BYTES: '1000' },
      /KAFKA_MAX_MESSAGE_BYTES must be a number from 16384 to 104857600, got "1000"/,
    ],
    [{ KAFKA_MAX_MESSAGE_BYTES: '1e12' }, /KAFKA_MAX_MESSAGE_BYTES must be a number from 16384/],
    [{ KAFKA_MAX_MESSAGE_BYTES: 'big' }, /KAFKA_MAX_MESSAGE_BYTES must be a number/],
    [{ REDIS_WAIT_REPLICAS: '6' }, /REDIS_WAIT_REPLICAS must be a number from 0 to 5, got "6"/],
    [{ REDIS_WAIT_REPLICAS: '1.5' }, /REDIS_WAIT_REPLICAS must be a whole number/],
    [{ REDIS_WAIT_REPLICAS: 'one' }, /REDIS_WAIT_REPLICAS must be a number/],
    [{ REDIS_WAIT_REPLICAS: '1', REDIS_CLUSTER: 'true' }, /REDIS_WAIT_REPLICAS is for a standalone primary/],
    [
      { REDIS_MERGE_KNOWN_HEADS: 'sometimes' },
      /REDIS_MERGE_KNOWN_HEADS must be true or false, got "sometimes"/,
    ],
    [{ SUMMARY_TRANSCODING: 'avsc' }, /SUMMARY_TRANSCODING must be true or false, got "avsc"/],
    [{ REDIS_WAIT_TIMEOUT_MS: '0' }, /REDIS_WAIT_TIMEOUT_MS must be a number from 1 to 60000/],
    [{ WATERMARK_GAP_TOLERANCE: '-2' }, /WATERMARK_GAP_TOLERANCE must be a number from -1/],
    [{ WATERMARK_GAP_TOLERANCE: 'none' }, /WATERMARK_GAP_TOLERANCE must be a number/],
    [{ TOPIC_FAILED: 'bad topic' }, /TOPIC_FAILED is not a valid Kafka topic name/],
    [
      { EVENT_SOURCE_STARTING_POSITION: 'AT_TIMESTAMP' },
      /EVENT_SOURCE_STARTING_POSITION must be one of TRIM_HORIZON, LATEST, got "AT_TIMESTAMP"/,
    ],
    [{ KAFKA_RETRIES: '21' }, /KAFKA_RETRIES must be a number from 0 to 20, got "21"/],
    [{ KAFKA_RETRIES: 'many' }, /KAFKA_RETRIES must be a number/],
    [{ KAFKA_RETRY_INITIAL_MS: '0' }, /KAFKA_RETRY_INITIAL_MS must be a number from 1/],
    [
      { KAFKA_RETRY_INITIAL_MS: '500', KAFKA_RETRY_MAX_MS: '100' },
      /KAFKA_RETRY_MAX_MS \(100\) must not be below KAFKA_RETRY_INITIAL_MS \(500\)/,
    ],
  ])('refuses a bad guarantees setting, naming it: %o', (env, message) => {
    expect(() => loadAnalyticsConfig({ ...base, ...env })).toThrow(message);
  });

  it('keeps as many known heads as a sixteenth of the function`s memory holds, or as many as it is told', () => {
    const heads = (env: Record<string, string>) =>
      loadAnalyticsConfig({ ...base, ...env }).redisKnownHeadsMax;
    // ~450 bytes a head: 8 MiB of a 128 MB function, 64 MiB of a 1,024 MB one (capped at 100,000).
    expect(heads({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128' })).toBe(18_641);
    expect(heads({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' })).toBe(74_565);
    expect(heads({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' })).toBe(100_000);
    expect(heads({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128', REDIS_KNOWN_HEADS_MAX: '250000' })).toBe(250_000);
    expect(heads({ REDIS_KNOWN_HEADS_MAX: '' })).toBe(100_000);
    for (const [env, message] of [
      [{ REDIS_KNOWN_HEADS_MAX: '0' }, /REDIS_KNOWN_HEADS_MAX must be a number from 1 to 10000000, got "0"/],
      [{ REDIS_KNOWN_HEADS_MAX: '1.5' }, /REDIS_KNOWN_HEADS_MAX must be a whole number, got "1.5"/],
      [{ REDIS_KNOWN_HEADS_MAX: 'all' }, /REDIS_KNOWN_HEADS_MAX must be a number/],
      [{ REDIS_KNOWN_HEADS_MAX: '10000001' }, /REDIS_KNOWN_HEADS_MAX must be a number from 1 to 10000000/],
      [
        { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10241' },
        /AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be a number from 128 to 10240, got "10241"/,
      ],
      [
        { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024.5' },
        /AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be a whole number/,
      ],
      [{ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 'lots' }, /AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be a number/],
      [
        { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '64' },
        /AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be a number from 128/,
      ],
    ] as const) {
      expect(() => heads(env)).toThrow(message);
    }
  });

  it('reads the producer retry schedule, and defaults to a few quick retries', () => {
    expect(loadAnalyticsConfig(base).kafka.retry).toEqual({
      retries: 3,
      initialRetryTimeMs: 100,
      maxRetryTimeMs: 1_000,
    });
    expect(
      loadAnalyticsConfig({
        ...base,
        KAFKA_RETRIES: '6',
        KAFKA_RETRY_INITIAL_MS: '300',
        KAFKA_RETRY_MAX_MS: '5000',
      }).kafka.retry,
    ).toEqual({ retries: 6, initialRetryTimeMs: 300, maxRetryTimeMs: 5_000 });
  });

  it('takes an empty guarantees setting for its default', () => {
    const config = loadAnalyticsConfig({
      ...base,
      KAFKA_MAX_MESSAGE_BYTES: '',
      REDIS_WAIT_REPLICAS: ' ',
      WATERMARK_GAP_TOLERANCE: '',
      EVENT_SOURCE_STARTING_POSITION: ' ',
      REDIS_MERGE_KNOWN_HEADS: ' ',
      SUMMARY_TRANSCODING: '',
    });
    expect(config).toMatchObject({
      kafka: { maxMessageBytes: 1_048_576 },
      redisMergeKnownHeads: true,
      summaryTranscoding: true,
      redisWaitReplicas: 0,
      watermarkGapTolerance: 0,
    });
    expect(config.eventSourceStartingPosition).toBeUndefined();
  });

  it('reads every override', () => {
    const config = loadAnalyticsConfig({
      REDIS_URL: 'rediss://:token@cache.example:6379',
      KAFKA_BROKERS: 'b-1:9098, b-2:9098',
      KAFKA_AUTH: 'aws-iam',
      KAFKA_IDEMPOTENT: 'false',
      TOPIC_DEAD_LETTER: 'quarantine',
      ALERT_TEMPERATURE_THRESHOLD: '55.5',
      WINDOW_TTL_SECONDS: '3600',
      REDIS_MERGE_KNOWN_HEADS: 'false',
      SUMMARY_TRANSCODING: 'false',
      MSK_CLUSTER_ARN: 'arn:aws:kafka:eu-west-1:123456789012:cluster/surge/abc-1',
    });
    expect(config.kafka).toMatchObject({
      brokers: ['b-1:9098', 'b-2:9098'],
      auth: 'aws-iam',
      idempotent: false,
    });
    expect(config.topics.deadLetter).toBe('quarantine');
    expect(config.alertTemperatureThreshold).toBe(55.5);
    expect(config.windowTtlSeconds).toBe(3600);
    expect(config.redisMergeKnownHeads).toBe(false);
    expect(config.summaryTranscoding).toBe(false);
  });

  it('reads where the Redis AUTH token is kept', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:surge-auth-AbCdEf';
    expect(loadAnalyticsConfig({ ...base, REDIS_AUTH_SECRET_ARN: arn }).redisAuthSecretArn).toBe(arn);
  });

  it.each([
    [{}, /REDIS_URL must be set/],
    [{ REDIS_URL: 'http://cache:6379' }, /REDIS_URL must start with redis:\/\/ or rediss:\/\//],
    [{ ...base, KAFKA_AUTH: 'scram' }, /KAFKA_AUTH must be one of none, aws-iam, got "scram"/],
    [{ ...base, KAFKA_IDEMPOTENT: 'maybe' }, /KAFKA_IDEMPOTENT must be true or false/],
    [{ ...base, KAFKA_BROKERS: 'broker-without-port' }, /KAFKA_BROKERS must be a comma list of host:port/],
    [{ ...base, ALERT_TEMPERATURE_THRESHOLD: 'hot' }, /ALERT_TEMPERATURE_THRESHOLD must be a number/],
    [{ ...base, WINDOW_TTL_SECONDS: '5' }, /WINDOW_TTL_SECONDS must be a number from 60/],
    [{ ...base, TOPIC_ALERTS: 'bad topic' }, /TOPIC_ALERTS is not a valid Kafka topic name/],
    [{ ...base, MSK_CLUSTER_ARN: 'arn:aws:sqs:eu-west-1:1:q' }, /MSK_CLUSTER_ARN is not an MSK cluster ARN/],
    [
      { ...base, REDIS_AUTH_SECRET_ARN: 'token' },
      /REDIS_AUTH_SECRET_ARN is not a Secrets Manager secret ARN/,
    ],
  ])('rejects %o naming the setting', (env, message) => {
    expect(() => loadAnalyticsConfig(env)).toThrow(ConfigurationError);
    expect(() => loadAnalyticsConfig(env)).toThrow(message);
  });
});

describe('loadQueryConfig', () => {
  it('needs only REDIS_URL', () => {
    expect(loadQueryConfig(base)).toEqual({
      redisUrl: base.REDIS_URL,
      redisCluster: false,
      redisKeyPrefix: 'surge',
    });
  });
});
