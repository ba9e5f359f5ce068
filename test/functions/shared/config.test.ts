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
