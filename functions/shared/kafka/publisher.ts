import { Logger } from '@aws-lambda-powertools/logger';
import {
  CompressionTypes,
  type IHeaders,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import type { KafkaSettings } from '../config';
import { KafkaError } from '../errors';
import { kafkaLogCreator } from '../observability/powertools';
import { useLeanProduceEncoding } from './lean-produce';
import { javaCompatiblePartitioner } from './partitioner';

const kafkaLogger = new Logger({ serviceName: 'surge-kafka' });

export interface OutboundMessage {
  readonly topic: string;
  readonly key: Buffer | string | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
}

/** The analytics processor's port to Kafka: all of a batch's messages, acknowledged or an error. */
export interface Publisher {
  publish(messages: readonly OutboundMessage[]): Promise<void>;
}

export function kafkaClientConfig(settings: KafkaSettings, brokers: string[]): KafkaConfig {
  const config: KafkaConfig = {
    clientId: settings.clientId,
    brokers,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    // Few quick retries: a longer outage should fail the invocation so that the mapping retries the batch.
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(kafkaLogger),
  };
  if (settings.auth === 'aws-iam') {
    const region = settings.region;
    if (!region) throw new KafkaError('KAFKA_AUTH=aws-iam needs AWS_REGION to sign the token');
    config.ssl = true;
    config.sasl = {
      mechanism: 'oauthbearer',
      // Loaded when the first token is needed: the signer pulls in the STS client, heavy at cold start.
      oauthBearerProvider: async () => {
        const { generateAuthToken } = await import('aws-msk-iam-sasl-signer-js');
        return { value: (await generateAuthToken({ region })).token };
      },
    };
  }
  return config;
}

/**
 * Publishes through one kafkajs producer per container. Acks from all in-sync replicas:
 * a batch is only committed by the mapping once its outputs are durable.
 */
export class KafkaPublisher implements Publisher {
  private connected: Promise<void> | undefined;

  constructor(
    private readonly producer: Producer,
    private readonly compression: CompressionTypes,
  ) {}

  static create(settings: KafkaSettings, brokers: string[]): KafkaPublisher {
    useLeanProduceEncoding();
    const producer = new Kafka(kafkaClientConfig(settings, brokers)).producer({
      idempotent: settings.idempotent,
      allowAutoTopicCreation: false,
      createPartitioner: javaCompatiblePartitioner,
      ...(settings.idempotent ? { maxInFlightRequests: 5 } : {}),
    });
    return new KafkaPublisher(
      producer,
      settings.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    );
  }

  async publish(messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const byTopic = new Map<string, TopicMessages>();
    for (const { topic, key, value, headers } of messages) {
      let entry = byTopic.get(topic);
      if (entry === undefined) {
        entry = { topic, messages: [] };
        byTopic.set(topic, entry);
      }
      entry.messages.push({ key, value, headers });
    }
    try {
      await this.connect();
      await this.producer.sendBatch({
        acks: -1,
        compression: this.compression,
        topicMessages: [...byTopic.values()],
      });
    } catch (cause) {
      throw new KafkaError(`Kafka did not accept ${messages.length} messages: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  async disconnect(): Promise<void> {
    const connected = this.connected;
    this.connected = undefined;
    if (connected !== undefined) await this.producer.disconnect();
  }

  /**
   * Connects ahead of the first publish and loads the partition metadata of `topics`, so that the
   * first batch's publishes need no metadata round trip of their own (at a cold start, the one
   * kafkajs makes when a publish meets a new topic landed on the batch's critical path).
   * An empty send is kafkajs's way to load topics' metadata: it sends no Produce request.
   * Resolves when done; never rejects: a failure here is reported by the first publish.
   */
  async warmUp(topics: readonly string[] = []): Promise<void> {
    try {
      await this.connect();
      if (topics.length > 0) {
        await this.producer.sendBatch({
          acks: -1,
          topicMessages: topics.map((topic) => ({ topic, messages: [] })),
        });
      }
    } catch {
      // Reported by the first publish, which connects (and loads metadata) again.
    }
  }

  private connect(): Promise<void> {
    if (this.connected === undefined) {
      this.connected = this.producer.connect().catch((error: unknown) => {
        this.connected = undefined;
        throw error;
      });
    }
    return this.connected;
  }
}
