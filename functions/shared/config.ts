import { bool, type Env, number, oneOf, optional, required, wholeNumber } from './env';
import { ConfigurationError } from './errors';
import { knownHeadsFor } from './redis/known-heads';

/**
 * Runtime configuration of the functions, read from the environment once per container.
 * Defaults live here and nowhere else: the CDK stacks and the local runtime import them.
 */
export const DEFAULT_TOPICS = {
  input: 'iot-data',
  summaries: 'processed-data',
  alerts: 'iot-alerts',
  deadLetter: 'iot-data-dlq',
  /** The event source mapping's on-failure destination: batches that ran out of retries (AWS's JSON documents). */
  failed: 'iot-data-failed',
} as const;

export type TopicNames = { readonly [K in keyof typeof DEFAULT_TOPICS]: string };

/**
 * The memory a Lambda function may have (lib/config/limits.ts takes it for the stage settings).
 * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
 */
export const FUNCTION_MEMORY_MB = { min: 128, max: 10_240 } as const;

export const DEFAULTS = {
  alertTemperatureThreshold: 80,
  windowTtlSeconds: 7 * 24 * 3600,
  redisKeyPrefix: 'surge',
  kafkaClientId: 'surge',
  /** The broker's default max.message.bytes (1 MiB), below which every produce request is cut. */
  kafkaMaxMessageBytes: 1_048_576,
  redisWaitTimeoutMs: 1_000,
  watermarkGapTolerance: 0,
  /** Few quick retries: a longer outage fails the invocation, and the mapping retries the batch. */
  kafkaRetry: { retries: 3, initialRetryTimeMs: 100, maxRetryTimeMs: 1_000 },
} as const;

/**
 * How the producer retries a connection or a request (kafkajs's exponential backoff with 20%
 * jitter). Brokers that accept few new connections per second (kafka.t3.small: 4 with IAM) need a
 * longer schedule so that containers cold-starting together all get in (lib/config/stage-config.ts).
 */
export interface KafkaRetrySettings {
  readonly retries: number;
  readonly initialRetryTimeMs: number;
  readonly maxRetryTimeMs: number;
}

export type KafkaAuth = 'none' | 'aws-iam';
/** The codecs of Kafka's record batches, as KAFKA_COMPRESSION names them (functions/shared/kafka/codecs.ts). */
export const KAFKA_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];

export interface KafkaSettings {
  /** Explicit brokers; when absent, MSK_CLUSTER_ARN or the event's bootstrapServers are used. */
  readonly brokers?: readonly string[];
  readonly clusterArn?: string;
  readonly auth: KafkaAuth;
  readonly idempotent: boolean;
  readonly compression: KafkaCompression;
  readonly clientId: string;
  readonly region?: string;
  /** Produce requests are cut so that none is larger: the smallest max.message.bytes of the output topics. */
  readonly maxMessageBytes: number;
  /** KAFKA_RETRIES, KAFKA_RETRY_INITIAL_MS, KAFKA_RETRY_MAX_MS. @default DEFAULTS.kafkaRetry */
  readonly retry?: KafkaRetrySettings;
  /**
   * KAFKA_LEAN_ENCODER: produce requests through Surge's encoder (functions/shared/kafka/lean-produce.ts),
   * or `false` for kafkajs's own. @default true
   */
  readonly leanEncoder?: boolean;
}

export interface AnalyticsConfig {
  readonly redisUrl: string;
  /** Secrets Manager secret of the Redis AUTH token, read at cold start. */
  readonly redisAuthSecretArn?: string;
  /** A cluster-mode cache (ElastiCache Serverless): commands go to the node that owns their slot. */
  readonly redisCluster: boolean;
  readonly redisKeyPrefix: string;
  readonly kafka: KafkaSettings;
  readonly topics: TopicNames;
  /** Readings above this temperature (°C) raise an alert. */
  readonly alertTemperatureThreshold: number;
  /** A minute window expires this long after its last update. */
  readonly windowTtlSeconds: number;
  /** Replicas that must acknowledge each batch (WAIT) before it is acknowledged; 0 for none. */
  readonly redisWaitReplicas: number;
  readonly redisWaitTimeoutMs: number;
  /**
   * REDIS_MERGE_KNOWN_HEADS: merge a device whose stored head the container knows on the client, so
   * that the device script only checks it and splices the minutes (functions/shared/redis/head-merge.ts),
   * or `false` to send every device as a delta for the script to merge. @default true
   */
  readonly redisMergeKnownHeads: boolean;
  /**
   * REDIS_KNOWN_HEADS_MAX: the devices whose stored heads a container keeps for that merge
   * (functions/shared/redis/known-heads.ts, ~450 bytes each).
   * @default - as many as a sixteenth of the function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE) holds, at most 100,000
   */
  readonly redisKnownHeadsMax: number;
  /**
   * SUMMARY_TRANSCODING: write each device summary straight from the state the store answered
   * (functions/analytics/summary-encoder.ts, the same bytes as avsc's), or `false` to decode a
   * DeviceState and encode it with avsc. @default true
   */
  readonly summaryTranscoding: boolean;
  /**
   * Offsets a batch may start past the store's watermark of its partition (transaction markers)
   * before the batch is refused as a sign of lost writes; -1 turns the check off.
   */
  readonly watermarkGapTolerance: number;
  /**
   * EVENT_SOURCE_STARTING_POSITION: where the event source mapping starts a partition. A batch of
   * a partition the store has nothing of must start where the partition begins for the mapping
   * (within the tolerance), or it is refused like a gap (its first batch went to the failure
   * destination): with TRIM_HORIZON where its log begins, with LATEST the first offset the mapping
   * delivered of it, which the store records. @default - unset: such a batch is applied unchecked
   */
  readonly eventSourceStartingPosition?: 'TRIM_HORIZON' | 'LATEST';
}

export interface QueryConfig {
  readonly redisUrl: string;
  readonly redisAuthSecretArn?: string;
  readonly redisCluster: boolean;
  readonly redisKeyPrefix: string;
}

function redisUrl(env: Env): string {
  const url = required(env, 'REDIS_URL');
  if (!/^rediss?:\/\/[^/]/.test(url)) {
    throw new ConfigurationError(`REDIS_URL must start with redis:// or rediss://, got "${url}"`);
  }
  return url;
}

function secretArn(env: Env): string | undefined {
  const arn = optional(env, 'REDIS_AUTH_SECRET_ARN');
  if (arn !== undefined && !/^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:.+/.test(arn)) {
    throw new ConfigurationError(`REDIS_AUTH_SECRET_ARN is not a Secrets Manager secret ARN: "${arn}"`);
  }
  return arn;
}

function brokers(env: Env): string[] | undefined {
  const raw = optional(env, 'KAFKA_BROKERS');
  if (raw === undefined) return undefined;
  const list = raw
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const broker of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) {
      throw new ConfigurationError(`KAFKA_BROKERS must be a comma list of host:port, got "${broker}"`);
    }
  }
  return list;
}

function topicName(env: Env, name: string, fallback: string): string {
  const value = optional(env, name) ?? fallback;
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(value)) {
    throw new ConfigurationError(`${name} is not a valid Kafka topic name: "${value}"`);
  }
  return value;
}

function retrySettings(env: Env): KafkaRetrySettings {
  const fallback = DEFAULTS.kafkaRetry;
  const retry = {
    retries: number(env, 'KAFKA_RETRIES', fallback.retries, 0, 20),
    initialRetryTimeMs: number(env, 'KAFKA_RETRY_INITIAL_MS', fallback.initialRetryTimeMs, 1, 60_000),
    maxRetryTimeMs: number(env, 'KAFKA_RETRY_MAX_MS', fallback.maxRetryTimeMs, 1, 300_000),
  };
  if (retry.maxRetryTimeMs < retry.initialRetryTimeMs) {
    throw new ConfigurationError(
      `KAFKA_RETRY_MAX_MS (${retry.maxRetryTimeMs}) must not be below KAFKA_RETRY_INITIAL_MS (${retry.initialRetryTimeMs})`,
    );
  }
  return retry;
}

/**
 * Producer settings: KAFKA_BROKERS, MSK_CLUSTER_ARN, KAFKA_AUTH, KAFKA_IDEMPOTENT, KAFKA_COMPRESSION,
 * KAFKA_MAX_MESSAGE_BYTES and the retry schedule (KAFKA_RETRIES, KAFKA_RETRY_INITIAL_MS, KAFKA_RETRY_MAX_MS).
 */
export function loadKafkaSettings(env: Env = process.env): KafkaSettings {
  const clusterArn = optional(env, 'MSK_CLUSTER_ARN');
  if (clusterArn !== undefined && !/^arn:aws[\w-]*:kafka:[\w-]+:\d{12}:cluster\/.+/.test(clusterArn)) {
    throw new ConfigurationError(`MSK_CLUSTER_ARN is not an MSK cluster ARN: "${clusterArn}"`);
  }
  return {
    brokers: brokers(env),
    clusterArn,
    auth: oneOf(env, 'KAFKA_AUTH', ['none', 'aws-iam'] as const, 'none'),
    idempotent: bool(env, 'KAFKA_IDEMPOTENT', true),
    compression: oneOf(env, 'KAFKA_COMPRESSION', KAFKA_COMPRESSIONS, 'none'),
    clientId: optional(env, 'KAFKA_CLIENT_ID') ?? DEFAULTS.kafkaClientId,
    region: optional(env, 'AWS_REGION'),
    maxMessageBytes: number(
      env,
      'KAFKA_MAX_MESSAGE_BYTES',
      DEFAULTS.kafkaMaxMessageBytes,
      16_384,
      104_857_600,
    ),
    retry: retrySettings(env),
    leanEncoder: bool(env, 'KAFKA_LEAN_ENCODER', true),
  };
}

export function loadTopicNames(env: Env = process.env): TopicNames {
  return {
    input: topicName(env, 'TOPIC_INPUT', DEFAULT_TOPICS.input),
    summaries: topicName(env, 'TOPIC_SUMMARIES', DEFAULT_TOPICS.summaries),
    alerts: topicName(env, 'TOPIC_ALERTS', DEFAULT_TOPICS.alerts),
    deadLetter: topicName(env, 'TOPIC_DEAD_LETTER', DEFAULT_TOPICS.deadLetter),
    failed: topicName(env, 'TOPIC_FAILED', DEFAULT_TOPICS.failed),
  };
}

export function loadAnalyticsConfig(env: Env = process.env): AnalyticsConfig {
  return {
    redisUrl: redisUrl(env),
    redisAuthSecretArn: secretArn(env),
    redisCluster: bool(env, 'REDIS_CLUSTER', false),
    redisKeyPrefix: optional(env, 'REDIS_KEY_PREFIX') ?? DEFAULTS.redisKeyPrefix,
    kafka: loadKafkaSettings(env),
    topics: loadTopicNames(env),
    alertTemperatureThreshold: number(
      env,
      'ALERT_TEMPERATURE_THRESHOLD',
      DEFAULTS.alertTemperatureThreshold,
      -100,
      200,
    ),
    windowTtlSeconds: number(env, 'WINDOW_TTL_SECONDS', DEFAULTS.windowTtlSeconds, 60, 366 * 24 * 3600),
    redisWaitReplicas: waitReplicas(env),
    redisWaitTimeoutMs: number(env, 'REDIS_WAIT_TIMEOUT_MS', DEFAULTS.redisWaitTimeoutMs, 1, 60_000),
    redisMergeKnownHeads: bool(env, 'REDIS_MERGE_KNOWN_HEADS', true),
    redisKnownHeadsMax: wholeNumber(
      env,
      'REDIS_KNOWN_HEADS_MAX',
      knownHeadsFor(functionMemoryMb(env)),
      1,
      10_000_000,
    ),
    summaryTranscoding: bool(env, 'SUMMARY_TRANSCODING', true),
    watermarkGapTolerance: number(
      env,
      'WATERMARK_GAP_TOLERANCE',
      DEFAULTS.watermarkGapTolerance,
      -1,
      Number.MAX_SAFE_INTEGER,
    ),
    eventSourceStartingPosition: startingPosition(env),
  };
}

function startingPosition(env: Env): AnalyticsConfig['eventSourceStartingPosition'] {
  const name = 'EVENT_SOURCE_STARTING_POSITION';
  if (optional(env, name) === undefined) return undefined;
  return oneOf(env, name, ['TRIM_HORIZON', 'LATEST'] as const, 'LATEST');
}

/** The function's memory as Lambda reports it; unset outside Lambda, where it counts as the most. */
function functionMemoryMb(env: Env): number {
  const { min, max } = FUNCTION_MEMORY_MB;
  return wholeNumber(env, 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', max, min, max);
}

function waitReplicas(env: Env): number {
  const replicas = wholeNumber(env, 'REDIS_WAIT_REPLICAS', 0, 0, 5);
  if (replicas > 0 && bool(env, 'REDIS_CLUSTER', false)) {
    throw new ConfigurationError(
      'REDIS_WAIT_REPLICAS is for a standalone primary; unset it with REDIS_CLUSTER=true',
    );
  }
  return replicas;
}

export function loadQueryConfig(env: Env = process.env): QueryConfig {
  return {
    redisUrl: redisUrl(env),
    redisAuthSecretArn: secretArn(env),
    redisCluster: bool(env, 'REDIS_CLUSTER', false),
    redisKeyPrefix: optional(env, 'REDIS_KEY_PREFIX') ?? DEFAULTS.redisKeyPrefix,
  };
}
