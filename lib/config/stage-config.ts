import {
  DEFAULT_TOPICS,
  DEFAULTS,
  KAFKA_COMPRESSIONS,
  type KafkaCompression,
  type KafkaRetrySettings,
} from '../../functions/shared/config';
import {
  initialSemiSpaceLimit,
  LIMITS,
  semiSpaceLimit,
  type WholeNumberLimit,
  wholeNumberProblem,
} from './limits';

/**
 * Everything that differs between stages, typed and validated in one place. The CDK app and the
 * local runtime both read it, so a batch size or a concurrency limit means the same thing on a
 * laptop and in the cloud. Handler defaults (topics, thresholds) come from functions/shared/config.ts.
 */
export const STAGES = ['dev', 'prod', 'local'] as const;
export type StageName = (typeof STAGES)[number];

export interface NetworkSettings {
  /** Availability zones of the VPC (2 or 3). Brokers are spread evenly over them. */
  readonly maxAzs: number;
  readonly flowLogRetentionDays: number;
}

export interface KafkaClusterSettings {
  /** `provisioned` brokers, or MSK Serverless (dev only: no broker configuration, topics by custom resource). */
  readonly mode: 'provisioned' | 'serverless';
  readonly kafkaVersion: string;
  readonly brokerInstanceType: string;
  /** Brokers per availability zone: the broker count is always a multiple of the AZ count. */
  readonly brokersPerAz: number;
  readonly volumeSizeGiB: number;
  /** Partitions of every topic; also the ceiling of pollers and concurrent invocations. */
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly retentionHours: number;
  /**
   * max.message.bytes of the input and output topics; the functions cut produce requests below it.
   * The dead-letter and failure topics take more (DEAD_LETTER_HEADROOM_BYTES, FAILED_TOPIC_FACTOR),
   * so that any record the input topic accepted fits there with Surge's headers or AWS's document.
   */
  readonly maxMessageBytes: number;
  readonly numIoThreads: number;
  readonly numNetworkThreads: number;
}

export interface CacheSettings {
  readonly mode: 'provisioned' | 'serverless';
  /** Valkey version of a node-based cache: 9.0 or later for durability. */
  readonly engineVersion: string;
  readonly nodeType: string;
  readonly replicasPerShard: number;
  readonly multiAz: boolean;
  /**
   * Node-based Valkey 9.0+ durability: `sync` stores every write in a Multi-AZ transactional log
   * before it is acknowledged (no acknowledged write lost on failover; single-digit-ms writes);
   * `async` acknowledges first (the last seconds of writes may be lost); `off` is plain asynchronous
   * replication, where each batch instead waits for its replicas (WAIT) when the cache has any.
   */
  readonly durability: 'sync' | 'async' | 'off';
  /** How long a batch waits for its replicas (WAIT) when durability is not `sync`. */
  readonly waitTimeoutMs: number;
}

export interface EventSourceSettings {
  /** Records per invocation, 1 to 10,000. */
  readonly batchSize: number;
  /** How long the mapping gathers records before it invokes, 0 to 300 whole seconds. */
  readonly maxBatchingWindowSeconds: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly consumerGroupId: string;
  /** Provisioned-mode pollers; absent means on-demand pollers (which need Lambda and STS endpoints). */
  readonly provisionedPollers?: { readonly minimum: number; readonly maximum: number };
  /** Retries of a failing batch, -1 (until the record expires) to 10,000. */
  readonly retryAttempts: number;
  /** Oldest record the mapping still delivers, -1 (no limit) or 60 to 604,800 s. */
  readonly maxRecordAgeSeconds: number;
  readonly bisectBatchOnError: boolean;
  readonly reportBatchItemFailures: boolean;
  /** Where a batch goes once its retries run out. */
  readonly onFailure: 'kafka' | 'sqs' | 'none';
}

export interface AnalyticsSettings {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /**
   * Reserved concurrency; together with pollers and partitions it caps invocations in flight.
   * `null` reserves none (the simulator then reserves none either): for accounts whose concurrency
   * quota is too small to set any aside. Lambda keeps 100 of the account's concurrency unreserved,
   * so a reservation fails the deploy where the quota leaves less: `npm run preflight` checks it.
   */
  readonly reservedConcurrency: number | null;
  readonly alertTemperatureThreshold: number;
  readonly windowTtlSeconds: number;
  /** The codec of the functions' output batches (KAFKA_COMPRESSION); zstd needs the Node.js 22 runtime. */
  readonly kafkaCompression: KafkaCompression;
  /**
   * V8's young-generation semi-space, in MB (`--max-semi-space-size`). A batch's records live
   * until it ends and each scavenge copies them again; a larger young generation scavenges less
   * often (measured in docs/performance.md). V8 reserves up to three semi-spaces, so at most an
   * eighth of memoryMb.
   */
  readonly semiSpaceMb: number;
  /**
   * The semi-space V8 starts with, in MB (`--min-semi-space-size`; 0 for V8's own, 1 MB, which
   * doubles at each scavenge). A cold container's first batch would otherwise scavenge about nine
   * times while the young generation grows, copying the batch's records each time
   * (docs/performance.md). NODE_OPTIONS refuses this flag, so the function's launch wrapper passes
   * it (SurgeFunction). At most semiSpaceMb.
   */
  readonly initialSemiSpaceMb: number;
  /**
   * Whether stack traces are mapped to the TypeScript source at run time (Node's
   * `--enable-source-maps`). Node then parses the bundle's source map as it loads: about 9 ms more
   * on every cold start (docs/performance.md). The map ships beside the bundle either way, so a
   * minified stack trace can still be resolved afterwards.
   */
  readonly sourceMaps: boolean;
}

export interface ApiSettings {
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly memoryMb: number;
}

export interface StageConfig {
  readonly stage: StageName;
  readonly network: NetworkSettings;
  readonly kafka: KafkaClusterSettings;
  readonly cache: CacheSettings;
  readonly eventSource: EventSourceSettings;
  readonly analytics: AnalyticsSettings;
  readonly api: ApiSettings;
  readonly topics: {
    readonly input: string;
    readonly summaries: string;
    readonly alerts: string;
    readonly deadLetter: string;
    /** The event source mapping's on-failure destination (eventSource.onFailure `kafka`). */
    readonly failed: string;
  };
  /** Deploy the device simulator function (a way to put data through a test deployment). */
  readonly simulator: boolean;
  readonly logRetentionDays: number;
  /** Who is emailed when an alarm fires; absent means subscribe to the SNS topic yourself. */
  readonly alarmEmail?: string;
  /** `destroy` data stores on stack deletion (dev, local) or `retain` them (prod). */
  readonly dataRemoval: 'destroy' | 'retain';
  /** LocalStack lacks AWS::MSK::Topic, pollers, partial batch responses and failure destinations. */
  readonly localstack: boolean;
}

const dev: StageConfig = {
  stage: 'dev',
  network: { maxAzs: 2, flowLogRetentionDays: 14 },
  kafka: {
    mode: 'provisioned',
    kafkaVersion: '3.9.x.kraft',
    brokerInstanceType: 'kafka.t3.small',
    brokersPerAz: 1,
    volumeSizeGiB: 20,
    partitions: 6,
    replicationFactor: 2,
    minInsyncReplicas: 1,
    retentionHours: 72,
    maxMessageBytes: 1_048_576,
    numIoThreads: 4,
    numNetworkThreads: 2,
  },
  cache: {
    mode: 'provisioned',
    engineVersion: '8.0',
    nodeType: 'cache.t4g.micro',
    replicasPerShard: 0,
    multiAz: false,
    durability: 'off',
    waitTimeoutMs: 1_000,
  },
  eventSource: {
    batchSize: 1_000,
    maxBatchingWindowSeconds: 1,
    startingPosition: 'TRIM_HORIZON',
    consumerGroupId: 'surge-analytics',
    provisionedPollers: { minimum: 1, maximum: 2 },
    retryAttempts: 5,
    maxRecordAgeSeconds: 3_600,
    bisectBatchOnError: true,
    reportBatchItemFailures: false,
    onFailure: 'kafka',
  },
  analytics: {
    memoryMb: 1_024,
    timeoutSeconds: 60,
    reservedConcurrency: 6,
    alertTemperatureThreshold: DEFAULTS.alertTemperatureThreshold,
    windowTtlSeconds: DEFAULTS.windowTtlSeconds,
    kafkaCompression: 'none',
    semiSpaceMb: 128,
    initialSemiSpaceMb: 64,
    sourceMaps: false,
  },
  api: { rateLimit: 50, burstLimit: 100, memoryMb: 512 },
  topics: { ...DEFAULT_TOPICS },
  simulator: true,
  logRetentionDays: 14,
  dataRemoval: 'destroy',
  localstack: false,
};

const prod: StageConfig = {
  ...dev,
  stage: 'prod',
  network: { maxAzs: 3, flowLogRetentionDays: 90 },
  kafka: {
    ...dev.kafka,
    brokerInstanceType: 'kafka.m7g.large',
    volumeSizeGiB: 500,
    partitions: 24,
    replicationFactor: 3,
    minInsyncReplicas: 2,
    retentionHours: 168,
    numIoThreads: 8,
    numNetworkThreads: 5,
  },
  cache: {
    mode: 'provisioned',
    engineVersion: '9.0',
    nodeType: 'cache.r7g.large',
    replicasPerShard: 1,
    multiAz: true,
    durability: 'sync',
    waitTimeoutMs: 1_000,
  },
  eventSource: {
    ...dev.eventSource,
    batchSize: 5_000,
    maxBatchingWindowSeconds: 1,
    startingPosition: 'LATEST',
    provisionedPollers: { minimum: 2, maximum: 24 },
    retryAttempts: 10,
    maxRecordAgeSeconds: 21_600,
  },
  analytics: {
    ...dev.analytics,
    memoryMb: 1_769,
    timeoutSeconds: 120,
    reservedConcurrency: 24,
    kafkaCompression: 'gzip',
  },
  api: { rateLimit: 500, burstLimit: 1_000, memoryMb: 1_024 },
  simulator: false,
  logRetentionDays: 90,
  dataRemoval: 'retain',
};

const local: StageConfig = {
  ...dev,
  stage: 'local',
  network: { ...dev.network, maxAzs: 2 },
  kafka: { ...dev.kafka, kafkaVersion: '3.7.x', replicationFactor: 1, minInsyncReplicas: 1 },
  eventSource: {
    ...dev.eventSource,
    provisionedPollers: undefined,
    reportBatchItemFailures: false,
    onFailure: 'none',
  },
  localstack: true,
};

/** What the dead-letter topic takes beyond the input topic's limit: Surge's x- headers, bounded. */
export const DEAD_LETTER_HEADROOM_BYTES = 65_536;
/** The failure topic holds AWS's JSON document per record: the record in base64 and metadata. */
export const FAILED_TOPIC_FACTOR = 2;

/** The replicas each batch waits for (WAIT): those of a cache whose writes are not durable by themselves. */
export function waitReplicas(cache: CacheSettings): number {
  return cache.mode === 'provisioned' && cache.durability !== 'sync' ? cache.replicasPerShard : 0;
}

/**
 * New TCP connections per broker per second that MSK accepts from IAM-authenticated clients
 * (MSK quotas: kafka.t3.small 4, other broker types 100). Past it, connections are refused.
 */
export function brokerConnectionRate(instanceType: string): number {
  return instanceType.startsWith('kafka.t3.') ? 4 : 100;
}

/** Invocations in flight at the most: one per partition, capped by the reserved concurrency. */
export function maxConcurrentInvocations(config: StageConfig): number {
  return Math.min(config.kafka.partitions, config.analytics.reservedConcurrency ?? config.kafka.partitions);
}

/** Containers that may open producer connections at the same moment: the analytics function's and the simulator's. */
export function producerContainers(config: StageConfig): number {
  return maxConcurrentInvocations(config) + (config.simulator ? 1 : 0);
}

/** kafkajs's backoff: each wait twice the last (±20% jitter, here `jitter`), capped at the maximum. */
function retrySpanMs(retry: KafkaRetrySettings, jitter: number): number {
  let total = 0;
  for (let n = 0; n < retry.retries; n++) {
    total += Math.min(retry.initialRetryTimeMs * 2 ** n * jitter, retry.maxRetryTimeMs);
  }
  return total;
}

/** How long a retry schedule keeps trying at the least (jitter at -20%). */
export function retryWindowMs(retry: KafkaRetrySettings): number {
  return retrySpanMs(retry, 0.8);
}

/** How long a retry schedule may take at the most (jitter at +20%). */
export function retryWorstCaseMs(retry: KafkaRetrySettings): number {
  return retrySpanMs(retry, 1.2);
}

/**
 * The producers' retry schedule for the stage's brokers. Each cold-starting container opens up to
 * two connections to a broker (bootstrap, then partition leader); when they all start together,
 * a broker that accepts few connections per second lets the rest in over the following seconds,
 * and the schedule must keep trying for that long (plus a second) instead of failing the batch.
 * Chosen over a larger dev broker, which would cost about four times as much.
 */
export function kafkaProducerRetry(config: StageConfig): KafkaRetrySettings {
  const rate = brokerConnectionRate(config.kafka.brokerInstanceType);
  const seconds = Math.ceil((2 * producerContainers(config)) / rate);
  const neededMs = seconds <= 1 ? 0 : (seconds - 1) * 1_000 + 1_000;
  if (retryWindowMs(DEFAULTS.kafkaRetry) >= neededMs) return DEFAULTS.kafkaRetry;
  const slow = { retries: DEFAULTS.kafkaRetry.retries, initialRetryTimeMs: 300, maxRetryTimeMs: 5_000 };
  while (retryWindowMs(slow) < neededMs && slow.retries < 20) slow.retries++;
  return slow;
}

export const STAGE_DEFAULTS: Readonly<Record<StageName, StageConfig>> = { dev, prod, local };

export class StageConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid stage configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'StageConfigError';
  }
}

type Overrides = { readonly [key: string]: unknown };

function merge(base: unknown, override: unknown, path: string, problems: string[]): unknown {
  if (override === undefined) return base;
  if (base !== null && typeof base === 'object' && !Array.isArray(base)) {
    if (override === null || typeof override !== 'object' || Array.isArray(override)) {
      problems.push(`${path} must be an object`);
      return base;
    }
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [key, value] of Object.entries(override)) {
      const optional = ['provisionedPollers', 'alarmEmail'].includes(key);
      if (!(key in out) && !optional) {
        problems.push(`${path ? `${path}.` : ''}${key} is not a setting`);
        continue;
      }
      out[key] =
        out[key] === undefined ? value : merge(out[key], value, path ? `${path}.${key}` : key, problems);
    }
    return out;
  }
  return override;
}

function check(problems: string[], ok: boolean, message: string): void {
  if (!ok) problems.push(message);
}

function integer(problems: string[], path: string, value: unknown, min: number, max: number): void {
  within(problems, path, value, { min, max });
}

function within(problems: string[], path: string, value: unknown, limit: WholeNumberLimit): void {
  const problem = wholeNumberProblem(path, value, limit);
  if (problem !== undefined) problems.push(problem);
}

function oneOf(problems: string[], path: string, value: unknown, allowed: readonly unknown[]): void {
  check(
    problems,
    allowed.includes(value),
    `${path} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
  );
}

/** Every problem of a configuration, each naming its setting. */
export function validateStageConfig(config: StageConfig): string[] {
  const p: string[] = [];
  const { network, kafka, cache, eventSource: es, analytics, api } = config;
  integer(p, 'network.maxAzs', network.maxAzs, 2, 3);
  integer(p, 'network.flowLogRetentionDays', network.flowLogRetentionDays, 1, 3_653);
  oneOf(p, 'kafka.mode', kafka.mode, ['provisioned', 'serverless']);
  check(
    p,
    /^\d+\.\d+\.(\d+|x)(\.kraft)?$/.test(kafka.kafkaVersion),
    `kafka.kafkaVersion is not an MSK version: "${kafka.kafkaVersion}"`,
  );
  check(
    p,
    /^kafka\.[a-z0-9]+\.[a-z0-9]+$/.test(kafka.brokerInstanceType),
    `kafka.brokerInstanceType is not an MSK instance type: "${kafka.brokerInstanceType}"`,
  );
  within(p, 'kafka.brokersPerAz', kafka.brokersPerAz, LIMITS.brokersPerAz);
  within(p, 'kafka.volumeSizeGiB', kafka.volumeSizeGiB, LIMITS.volumeSizeGiB);
  within(p, 'kafka.partitions', kafka.partitions, LIMITS.topicPartitions);
  integer(p, 'kafka.replicationFactor', kafka.replicationFactor, 1, 3);
  integer(p, 'kafka.minInsyncReplicas', kafka.minInsyncReplicas, 1, 3);
  integer(p, 'kafka.retentionHours', kafka.retentionHours, 1, 8_760);
  integer(p, 'kafka.maxMessageBytes', kafka.maxMessageBytes, 65_536, 8_388_608);
  integer(p, 'kafka.numIoThreads', kafka.numIoThreads, 1, 64);
  integer(p, 'kafka.numNetworkThreads', kafka.numNetworkThreads, 1, 64);
  if (kafka.mode === 'provisioned' && !config.localstack) {
    check(
      p,
      kafka.replicationFactor <= network.maxAzs * kafka.brokersPerAz,
      `kafka.replicationFactor (${kafka.replicationFactor}) exceeds the broker count (${network.maxAzs * kafka.brokersPerAz})`,
    );
  }
  check(
    p,
    kafka.minInsyncReplicas <= kafka.replicationFactor,
    `kafka.minInsyncReplicas (${kafka.minInsyncReplicas}) must not exceed kafka.replicationFactor (${kafka.replicationFactor})`,
  );
  oneOf(p, 'cache.mode', cache.mode, ['provisioned', 'serverless']);
  check(
    p,
    /^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(cache.nodeType),
    `cache.nodeType is not an ElastiCache node type: "${cache.nodeType}"`,
  );
  within(p, 'cache.replicasPerShard', cache.replicasPerShard, LIMITS.cacheReplicas);
  check(
    p,
    /^\d+\.\d+$/.test(cache.engineVersion),
    `cache.engineVersion is not a Valkey version like 9.0: "${cache.engineVersion}"`,
  );
  oneOf(p, 'cache.durability', cache.durability, ['sync', 'async', 'off']);
  if (cache.durability !== 'off') {
    check(
      p,
      Number.parseFloat(cache.engineVersion) >= 9,
      `cache.durability ${cache.durability} needs cache.engineVersion 9.0 or later, got ${cache.engineVersion}`,
    );
    check(
      p,
      cache.mode === 'provisioned',
      `cache.durability ${cache.durability} is for node-based caches, not serverless`,
    );
  }
  integer(p, 'cache.waitTimeoutMs', cache.waitTimeoutMs, 1, 60_000);
  check(
    p,
    !cache.multiAz || cache.replicasPerShard >= 1,
    'cache.multiAz needs cache.replicasPerShard of at least 1',
  );
  integer(p, 'eventSource.batchSize', es.batchSize, 1, 10_000);
  integer(p, 'eventSource.maxBatchingWindowSeconds', es.maxBatchingWindowSeconds, 0, 300);
  oneOf(p, 'eventSource.startingPosition', es.startingPosition, ['TRIM_HORIZON', 'LATEST']);
  check(
    p,
    /^[A-Za-z0-9._-]{1,200}$/.test(es.consumerGroupId),
    `eventSource.consumerGroupId must be 1 to 200 characters of [A-Za-z0-9._-], got "${es.consumerGroupId}"`,
  );
  if (es.provisionedPollers !== undefined) {
    integer(p, 'eventSource.provisionedPollers.minimum', es.provisionedPollers.minimum, 1, 200);
    integer(p, 'eventSource.provisionedPollers.maximum', es.provisionedPollers.maximum, 1, 2_000);
    check(
      p,
      es.provisionedPollers.minimum <= es.provisionedPollers.maximum,
      `eventSource.provisionedPollers.minimum (${es.provisionedPollers.minimum}) exceeds maximum (${es.provisionedPollers.maximum})`,
    );
  }
  integer(p, 'eventSource.retryAttempts', es.retryAttempts, -1, 10_000);
  check(
    p,
    es.maxRecordAgeSeconds === -1 ||
      (Number.isInteger(es.maxRecordAgeSeconds) &&
        es.maxRecordAgeSeconds >= 60 &&
        es.maxRecordAgeSeconds <= 604_800),
    `eventSource.maxRecordAgeSeconds must be -1 or from 60 to 604800, got ${JSON.stringify(es.maxRecordAgeSeconds)}`,
  );
  oneOf(p, 'eventSource.onFailure', es.onFailure, ['kafka', 'sqs', 'none']);
  if (config.localstack) {
    check(
      p,
      es.provisionedPollers === undefined,
      'eventSource.provisionedPollers is not supported by LocalStack',
    );
    check(
      p,
      !es.reportBatchItemFailures,
      'eventSource.reportBatchItemFailures is not supported by LocalStack',
    );
    check(p, es.onFailure === 'none', 'eventSource.onFailure is not supported by LocalStack');
    check(p, kafka.mode === 'provisioned', 'kafka.mode serverless is not supported by LocalStack');
    check(p, cache.mode === 'provisioned', 'cache.mode serverless is not supported by LocalStack');
    check(p, cache.durability === 'off', 'cache.durability is not supported by LocalStack');
  }
  within(p, 'analytics.memoryMb', analytics.memoryMb, LIMITS.functionMemoryMb);
  integer(p, 'analytics.timeoutSeconds', analytics.timeoutSeconds, 1, 900);
  if (analytics.reservedConcurrency !== null) {
    integer(p, 'analytics.reservedConcurrency', analytics.reservedConcurrency, 1, 1_000);
  }
  if (p.length === 0) {
    const retry = kafkaProducerRetry(config);
    check(
      p,
      retryWorstCaseMs(retry) <= (analytics.timeoutSeconds * 1_000) / 2,
      `kafka.brokerInstanceType ${kafka.brokerInstanceType} accepts ${brokerConnectionRate(kafka.brokerInstanceType)} new connections per broker per second: ` +
        `${producerContainers(config)} containers starting together need up to ${Math.ceil(retryWorstCaseMs(retry) / 1_000)} s of connection retries, ` +
        `more than half of analytics.timeoutSeconds (${analytics.timeoutSeconds}): choose a larger broker type, a longer timeout or a lower analytics.reservedConcurrency`,
    );
  }
  check(
    p,
    typeof analytics.alertTemperatureThreshold === 'number' &&
      analytics.alertTemperatureThreshold >= -100 &&
      analytics.alertTemperatureThreshold <= 200,
    `analytics.alertTemperatureThreshold must be from -100 to 200, got ${JSON.stringify(analytics.alertTemperatureThreshold)}`,
  );
  integer(p, 'analytics.windowTtlSeconds', analytics.windowTtlSeconds, 60, 366 * 86_400);
  oneOf(p, 'analytics.kafkaCompression', analytics.kafkaCompression, KAFKA_COMPRESSIONS);
  within(p, 'analytics.semiSpaceMb', analytics.semiSpaceMb, semiSpaceLimit(analytics.memoryMb));
  within(
    p,
    'analytics.initialSemiSpaceMb',
    analytics.initialSemiSpaceMb,
    initialSemiSpaceLimit(analytics.semiSpaceMb),
  );
  oneOf(p, 'analytics.sourceMaps', analytics.sourceMaps, [true, false]);
  oneOf(p, 'simulator', config.simulator, [true, false]);
  integer(p, 'api.rateLimit', api.rateLimit, 1, 10_000);
  integer(p, 'api.burstLimit', api.burstLimit, 1, 5_000);
  within(p, 'api.memoryMb', api.memoryMb, LIMITS.functionMemoryMb);
  integer(p, 'logRetentionDays', config.logRetentionDays, 1, 3_653);
  check(
    p,
    config.topics.failed !== config.topics.input && config.topics.failed !== config.topics.deadLetter,
    `topics.failed must be a topic of its own, not the input or the dead-letter topic: "${config.topics.failed}"`,
  );
  for (const [name, topic] of Object.entries(config.topics)) {
    check(
      p,
      /^[A-Za-z0-9._-]{1,249}$/.test(topic),
      `topics.${name} is not a valid Kafka topic name: "${topic}"`,
    );
  }
  if (config.alarmEmail !== undefined) {
    check(
      p,
      /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(config.alarmEmail),
      `alarmEmail is not an email address: "${config.alarmEmail}"`,
    );
  }
  return p;
}

/**
 * The configuration of a stage with optional overrides (for instance from `-c overrides='{...}'`),
 * validated: a bad value throws a StageConfigError that names the setting.
 */
export function loadStageConfig(stage: string = 'dev', overrides: Overrides = {}): StageConfig {
  if (!(STAGES as readonly string[]).includes(stage)) {
    throw new StageConfigError([`stage must be one of ${STAGES.join(', ')}, got "${stage}"`]);
  }
  const problems: string[] = [];
  const merged = merge(STAGE_DEFAULTS[stage as StageName], overrides, '', problems) as StageConfig;
  problems.push(...validateStageConfig(merged));
  if (problems.length > 0) throw new StageConfigError(problems);
  return merged;
}
