import { appendFileSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { type AnalyticsContainer, createAnalyticsContainer } from '../functions/analytics/container';
import { createAnalyticsHandler } from '../functions/analytics/handler';
import { createQueryHandler } from '../functions/query/handler';
import { onFailureDocument, onFailureMetadata } from '../functions/shared/msk/on-failure';
import { RedisAnalyticsStore } from '../functions/shared/redis/analytics-store';
import { connectRedis } from '../functions/shared/redis/connect';
import { maxConcurrentInvocations, type StageConfig } from '../lib/config/stage-config';
import {
  type BatchHandler,
  EventSourceEmulator,
  eventRecordOf,
  type FailedBatch,
} from './event-source/emulator';
import { EXAMPLE_CLUSTER_ARN } from './msk-event';

/** The function the local runtime stands in for, as failure documents name it. */
const LOCAL_FUNCTION_ARN = 'arn:aws:lambda:local:000000000000:function:surge-analytics';

import { type MockKafka, startMockKafka } from './kafka/mock-cluster';
import { startQueryServer } from './query-server';
import { type LocalRedis, startRedis } from './redis/redis-server';

export interface RuntimeOptions {
  /** Stage settings: batch size, window, concurrency, retries, record age, bisect, failure destination. */
  readonly config: StageConfig;
  /** @default process.env.KAFKA_BROKERS, else a mock cluster started here */
  readonly kafkaBrokers?: string;
  /** @default process.env.REDIS_URL, else a redis-server started here */
  readonly redisUrl?: string;
  /** Start redis-server with an fsync'ed append-only file, so a restart keeps the aggregates. @default false */
  readonly durableRedis?: boolean;
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /** Wraps the analytics handler, e.g. to inject failures in tests. @default - the handler as is */
  readonly wrapHandler?: (handler: BatchHandler) => BatchHandler;
  readonly maxBufferedRecords?: number;
  /** Partitions one invocation may carry. @default - as many as have records ready (as AWS combines them) */
  readonly maxPartitionsPerInvocation?: number;
  /**
   * Where an `sqs` failure destination's documents go, one JSON line per failed batch (no queue
   * runs locally). @default DEFAULT_FAILURE_FILE, under the working directory
   */
  readonly failureFile?: string;
  readonly onLog?: (message: string) => void;
  /** Called when the event source stops on a failure of its own (a consumer that crashed, say). */
  readonly onFatal?: (error: Error) => void;
}

/** The local stand-in for an SQS failure destination: AWS's metadata documents, one per line. */
export const DEFAULT_FAILURE_FILE = '.surge/failed-batches.jsonl';

export interface LagSample {
  readonly perPartition: number[];
  readonly total: number;
}

/** The whole pipeline on this machine: broker, Redis, the mapping emulator, both handlers, the API. */
export class LocalRuntime {
  readonly emulator: EventSourceEmulator;
  /** Where an `sqs` failure destination writes (see RuntimeOptions.failureFile). */
  readonly failureFile: string;
  maxLag = 0;
  private lagTimer: NodeJS.Timeout | undefined;
  private lastLag: LagSample = { perPartition: [], total: 0 };

  private constructor(
    readonly config: StageConfig,
    readonly brokers: string[],
    readonly redisUrl: string,
    readonly queryUrl: string,
    private readonly server: Server,
    private readonly container: AnalyticsContainer,
    private readonly started: { kafka?: MockKafka; redis?: LocalRedis },
    emulator: (runtime: LocalRuntime) => EventSourceEmulator,
    failureFile: string,
  ) {
    this.failureFile = failureFile;
    this.emulator = emulator(this);
  }

  get kafka(): MockKafka | undefined {
    return this.started.kafka;
  }

  get redis(): LocalRedis | undefined {
    return this.started.redis;
  }

  get lag(): LagSample {
    return this.lastLag;
  }

  static async start(options: RuntimeOptions): Promise<LocalRuntime> {
    const { config } = options;
    const started: { kafka?: MockKafka; redis?: LocalRedis } = {};
    const cleanup = async () => {
      await Promise.allSettled([started.kafka?.stop(), started.redis?.stop()]);
    };
    try {
      let brokers = options.kafkaBrokers ?? process.env.KAFKA_BROKERS;
      if (!brokers) {
        started.kafka = await startMockKafka({
          topics: Object.values(config.topics).map((name) => ({ name, partitions: config.kafka.partitions })),
        });
        brokers = started.kafka.bootstrapServers;
      }
      let redisUrl = options.redisUrl ?? process.env.REDIS_URL;
      if (!redisUrl) {
        started.redis = await startRedis({ durable: options.durableRedis ?? false });
        redisUrl = started.redis.url;
      }
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        REDIS_URL: redisUrl,
        KAFKA_BROKERS: brokers,
        // The mock cluster names no usable controller, which idempotent producers need.
        KAFKA_IDEMPOTENT: started.kafka ? 'false' : (process.env.KAFKA_IDEMPOTENT ?? 'true'),
        TOPIC_INPUT: config.topics.input,
        TOPIC_SUMMARIES: config.topics.summaries,
        TOPIC_ALERTS: config.topics.alerts,
        TOPIC_DEAD_LETTER: config.topics.deadLetter,
        KAFKA_COMPRESSION: process.env.KAFKA_COMPRESSION ?? config.analytics.kafkaCompression,
        ALERT_TEMPERATURE_THRESHOLD: String(config.analytics.alertTemperatureThreshold),
        WINDOW_TTL_SECONDS: String(config.analytics.windowTtlSeconds),
        EVENT_SOURCE_STARTING_POSITION: config.eventSource.startingPosition,
      };
      const container = createAnalyticsContainer(env);
      const analytics = createAnalyticsHandler({ container: () => container }) as BatchHandler;
      const handler = options.wrapHandler ? options.wrapHandler(analytics) : analytics;
      const query = createQueryHandler({
        reader: async () =>
          new RedisAnalyticsStore(await connectRedis({ redisUrl: redisUrl as string }), {
            keyPrefix: container.config.redisKeyPrefix,
            windowTtlSeconds: config.analytics.windowTtlSeconds,
          }),
      });
      const server = await startQueryServer(query, options.port ?? 3000);
      const { port } = server.address() as AddressInfo;
      const brokerList = brokers.split(',');
      const es = config.eventSource;
      const runtime = new LocalRuntime(
        config,
        brokerList,
        redisUrl,
        `http://127.0.0.1:${port}`,
        server,
        container,
        started,
        (self) =>
          new EventSourceEmulator({
            brokers: brokerList,
            topic: config.topics.input,
            consumerGroupId: es.consumerGroupId,
            startingPosition: es.startingPosition,
            batchSize: es.batchSize,
            batchingWindowMs: es.maxBatchingWindowSeconds * 1_000,
            // Like AWS: one invocation per partition at most, and no more than reserved concurrency.
            maxConcurrency: maxConcurrentInvocations(config),
            retryAttempts: es.retryAttempts,
            maxRecordAgeMs: es.maxRecordAgeSeconds < 0 ? -1 : es.maxRecordAgeSeconds * 1_000,
            bisectBatchOnError: es.bisectBatchOnError,
            reportBatchItemFailures: es.reportBatchItemFailures,
            timeoutMs: config.analytics.timeoutSeconds * 1_000,
            handler,
            onFailure: es.onFailure === 'none' ? undefined : (batch) => self.toFailureDestination(batch),
            maxPartitionsPerInvocation: options.maxPartitionsPerInvocation,
            onFatal: options.onFatal,
            maxBufferedRecords: options.maxBufferedRecords,
            onLog: options.onLog,
          }),
        resolve(options.failureFile ?? DEFAULT_FAILURE_FILE),
      );
      await runtime.emulator.start();
      runtime.lagTimer = setInterval(() => {
        runtime.sampleLag().catch(() => undefined);
      }, 500);
      return runtime;
    } catch (error) {
      await cleanup();
      throw error;
    }
  }

  /** Lag of the mapping's consumer group on the input topic, per partition. */
  async sampleLag(): Promise<LagSample> {
    const admin = new Kafka({ brokers: this.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topic = this.config.topics.input;
      const [ends, [group]] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId: this.config.eventSource.consumerGroupId, topics: [topic] }),
      ]);
      const committed = new Map((group?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      const perPartition = ends
        .sort((a, b) => a.partition - b.partition)
        .map((p) => Number(p.high) - Math.max(committed.get(p.partition) ?? -1, Number(p.low)));
      const total = perPartition.reduce((a, b) => a + b, 0);
      this.maxLag = Math.max(this.maxLag, total);
      this.lastLag = { perPartition, total };
      return this.lastLag;
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * The mapping's on-failure destination, as configured for the stage: `kafka`, AWS's JSON
   * document per failed record to the failure topic, keyed by the record's key; `sqs`, AWS's
   * metadata document per failed batch (offset ranges, no records), one JSON line each in
   * `failureFile`, as a queue would receive them.
   */
  private async toFailureDestination(batch: FailedBatch): Promise<void> {
    const context = {
      condition: batch.condition,
      approximateInvokeCount: batch.attempts,
      functionArn: LOCAL_FUNCTION_ARN,
      eventSourceArn: EXAMPLE_CLUSTER_ARN,
      bootstrapServers: this.brokers.join(','),
      batchSize: batch.batchSize,
      functionError: batch.error.slice(0, 1_000),
    };
    if (this.config.eventSource.onFailure === 'sqs') {
      const document = onFailureMetadata(
        batch.partitions.map(({ partition, records }) => ({
          topic: batch.topic,
          partition,
          records: records.map((m) => eventRecordOf(batch.topic, partition, m)),
        })),
        { ...context, payloadSize: batch.payloadBytes },
      );
      mkdirSync(dirname(this.failureFile), { recursive: true });
      appendFileSync(this.failureFile, `${JSON.stringify(document)}\n`);
      return;
    }
    const producer = new Kafka({ brokers: this.brokers, logLevel: logLevel.NOTHING }).producer({
      idempotent: false,
    });
    await producer.connect();
    try {
      await producer.send({
        topic: this.config.topics.failed,
        acks: -1,
        messages: batch.partitions.flatMap(({ partition, records }) =>
          records.map((message) => ({
            key: message.key,
            value: JSON.stringify(onFailureDocument(eventRecordOf(batch.topic, partition, message), context)),
          })),
        ),
      });
    } finally {
      await producer.disconnect();
    }
  }

  /** Finishes in-flight batches, commits, and stops everything it started. */
  async stop(): Promise<void> {
    if (this.lagTimer) clearInterval(this.lagTimer);
    await this.emulator.stop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.container.close();
    await Promise.allSettled([this.started.kafka?.stop(), this.started.redis?.stop()]);
  }
}
