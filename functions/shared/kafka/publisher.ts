import { Logger } from '@aws-lambda-powertools/logger';
import {
  type CompressionTypes,
  type IHeaders,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import { DEFAULTS, type KafkaSettings } from '../config';
import { KafkaError } from '../errors';
import { kafkaLogCreator } from '../observability/powertools';
import { compressionType } from './codecs';
import { KafkaConnection } from './connection';
import { useLeanProduceEncoding } from './lean-produce';
import { javaCompatiblePartitioner } from './partitioner';

const kafkaLogger = new Logger({ serviceName: 'surge-kafka' });

export interface OutboundMessage {
  readonly topic: string;
  readonly key: Buffer | string | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders;
}

/** Room in a produce request for its header, topic and partition headers and record batch headers. */
const REQUEST_OVERHEAD_BYTES = 8_192;
/** A record's own framing in a RecordBatch: length, attributes, deltas, key and value lengths. */
const RECORD_OVERHEAD_BYTES = 24;

function byteLength(value: Buffer | string | null | undefined): number {
  if (value == null) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** What a message adds to a RecordBatch, uncompressed (an upper bound up to a few varint bytes). */
export function messageBytes(message: OutboundMessage): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      bytes += 10 + Buffer.byteLength(name) + byteLength(item as Buffer | string | undefined);
    }
  }
  return bytes;
}

/** The messages as produce requests, by topic, each adding up to at most `budget` bytes (or one message). */
export function splitBySize(messages: readonly OutboundMessage[], budget: number): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let request = new Map<string, TopicMessages>();
  let size = 0;
  for (const message of messages) {
    const bytes = messageBytes(message);
    if (size > 0 && size + bytes > budget) {
      requests.push([...request.values()]);
      request = new Map();
      size = 0;
    }
    size += bytes;
    let entry = request.get(message.topic);
    if (entry === undefined) {
      entry = { topic: message.topic, messages: [] };
      request.set(message.topic, entry);
    }
    entry.messages.push({ key: message.key, value: message.value, headers: message.headers });
  }
  if (size > 0) requests.push([...request.values()]);
  return requests;
}

/** The analytics processor's port to Kafka: all of a batch's messages, acknowledged or an error. */
export interface Publisher {
  publish(messages: readonly OutboundMessage[]): Promise<void>;
}

export function kafkaClientConfig(settings: KafkaSettings, brokers: string[]): KafkaConfig {
  const retry = settings.retry ?? DEFAULTS.kafkaRetry;
  const config: KafkaConfig = {
    clientId: settings.clientId,
    brokers,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: {
      retries: retry.retries,
      initialRetryTime: retry.initialRetryTimeMs,
      maxRetryTime: retry.maxRetryTimeMs,
    },
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
  private readonly connection: KafkaConnection;

  /** What a produce request's messages may add up to: the limit less room for request and batch headers. */
  private readonly requestBudget: number;

  constructor(
    private readonly producer: Producer,
    private readonly compression: CompressionTypes,
    maxMessageBytes: number = DEFAULTS.kafkaMaxMessageBytes,
  ) {
    this.requestBudget = Math.max(4_096, maxMessageBytes - REQUEST_OVERHEAD_BYTES);
    this.connection = new KafkaConnection(producer);
  }

  static create(settings: KafkaSettings, brokers: string[]): KafkaPublisher {
    if (settings.leanEncoder ?? true) useLeanProduceEncoding();
    const producer = new Kafka(kafkaClientConfig(settings, brokers)).producer({
      idempotent: settings.idempotent,
      allowAutoTopicCreation: false,
      createPartitioner: javaCompatiblePartitioner,
      ...(settings.idempotent ? { maxInFlightRequests: 5 } : {}),
    });
    return new KafkaPublisher(producer, compressionType(settings.compression), settings.maxMessageBytes);
  }

  /**
   * Sends the messages in as few produce requests as fit under the broker's message size limit
   * (uncompressed sizes, so a compressed request is smaller still): a batch's outputs are never
   * one request the broker must refuse, however many or large they are. A message larger than
   * the limit on its own goes alone; the dead-letter topic is provisioned to take any record the
   * input topic took, with Surge's headers.
   */
  async publish(messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const requests = splitBySize(messages, this.requestBudget);
    try {
      await this.connection.ready();
      await Promise.all(
        requests.map((topicMessages) =>
          this.producer.sendBatch({ acks: -1, compression: this.compression, topicMessages }),
        ),
      );
    } catch (cause) {
      throw new KafkaError(`Kafka did not accept ${messages.length} messages: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  disconnect(): Promise<void> {
    return this.connection.close();
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
      await this.connection.ready();
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
}
