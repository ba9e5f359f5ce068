import { describe, expect, it } from 'vitest';
import { type KafkaSettings, loadKafkaSettings } from '../../../../functions/shared/config';
import { ConfigurationError, KafkaError } from '../../../../functions/shared/errors';
import { resolveBrokers } from '../../../../functions/shared/kafka/brokers';
import { kafkaClientConfig } from '../../../../functions/shared/kafka/publisher';

const settings = (env: Record<string, string>): KafkaSettings => loadKafkaSettings(env);

describe('resolveBrokers', () => {
  it('prefers KAFKA_BROKERS over the event', async () => {
    expect(await resolveBrokers(settings({ KAFKA_BROKERS: 'a:9092,b:9092' }), 'c:9098')).toEqual([
      'a:9092',
      'b:9092',
    ]);
  });

  it("falls back to the event's bootstrapServers", async () => {
    expect(await resolveBrokers(settings({}), 'b-1.example:9098, b-2.example:9098')).toEqual([
      'b-1.example:9098',
      'b-2.example:9098',
    ]);
  });

  it('says what to set when there is nowhere to connect', async () => {
    await expect(resolveBrokers(settings({}))).rejects.toThrow(ConfigurationError);
    await expect(resolveBrokers(settings({}))).rejects.toThrow(/set KAFKA_BROKERS or MSK_CLUSTER_ARN/);
  });
});

describe('kafkaClientConfig', () => {
  it('uses SASL OAUTHBEARER over TLS with tokens from the MSK IAM signer for aws-iam', async () => {
    const config = kafkaClientConfig(settings({ KAFKA_AUTH: 'aws-iam', AWS_REGION: 'eu-west-1' }), [
      'b:9098',
    ]);
    expect(config.ssl).toBe(true);
    expect(config.sasl).toMatchObject({ mechanism: 'oauthbearer' });
    expect(typeof (config.sasl as { oauthBearerProvider: unknown }).oauthBearerProvider).toBe('function');
  });

  it('needs a region to sign IAM tokens', () => {
    expect(() => kafkaClientConfig(settings({ KAFKA_AUTH: 'aws-iam' }), ['b:9098'])).toThrow(KafkaError);
  });

  it('connects in plaintext without auth when KAFKA_AUTH is none', () => {
    const config = kafkaClientConfig(settings({}), ['b:9092']);
    expect(config.ssl).toBeUndefined();
    expect(config.sasl).toBeUndefined();
  });
});
