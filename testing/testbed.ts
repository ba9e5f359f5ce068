import type { APIGatewayProxyEventV2, Context, MSKEvent } from 'aws-lambda';
import { createAnalyticsContainer } from '../functions/analytics/container';
import { createAnalyticsHandler } from '../functions/analytics/handler';
import type { DeviceState, FleetStats, WindowState } from '../functions/domain/model';
import { createQueryHandler } from '../functions/query/handler';
import { DEFAULT_TOPICS } from '../functions/shared/config';
import { RedisAnalyticsReader } from '../functions/shared/redis/analytics-reader';
import { connectRedis } from '../functions/shared/redis/connect';
import { type MockKafka, startMockKafka } from '../local/kafka/mock-cluster';
import { type LocalRedis, startRedis } from '../local/redis/redis-server';
import { describe, httpRequest, registry, TestingKitError } from './builders';
import { type ReadMessage, readTopic, topicEnd } from './topics';

export interface TestbedOptions {
  /** Partitions of each of Surge's topics. @default 3 */
  readonly partitions?: number;
  /**
   * More environment for the handlers, as the README's "Configuration" lists it, e.g.
   * `{ ALERT_TEMPERATURE_THRESHOLD: '60' }`.
   * @default - none beyond the servers'
   */
  readonly env?: Readonly<Record<string, string>>;
}

/** A message a handler published, as a consumer of Surge's outputs reads it. */
export interface OutputMessage<V = Record<string, unknown>> {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Decoded from Avro for summaries and alerts; the record's original bytes for dead letters. */
  readonly value: V;
}

export interface QueryResponse {
  readonly statusCode: number;
  /** The JSON body, parsed. */
  readonly body: unknown;
}

/** Failures to inject, to see a batch refused (so that the event source mapping retries it). */
export interface Faults {
  /** Kills redis-server: commands fail at once, as when a node dies. */
  redisDown(): Promise<void>;
  /** Starts redis-server again on its port, with what it held (it keeps an fsync'ed log). */
  redisUp(): Promise<void>;
  /**
   * The broker refuses the next `count` produce requests with Kafka error `code` (87,
   * INVALID_RECORD, by default: one the producer does not retry, so each refusal fails a send).
   */
  refuseProduce(count: number, code?: number): Promise<void>;
  /** Takes every broker off the network, as an unreachable cluster. */
  brokersDown(): Promise<void>;
  brokersUp(): Promise<void>;
}

export interface Testbed extends AsyncDisposable {
  /** The handlers' environment: what a deployed function would have, pointing at these servers. */
  readonly env: Readonly<Record<string, string>>;
  /** The analytics handler, with a container of its own over this testbed's servers. */
  analytics(event: MSKEvent, context?: Context): Promise<void>;
  /** The query handler over this testbed's Redis; takes "METHOD /path" or an API Gateway event. */
  query(request: string | APIGatewayProxyEventV2): Promise<QueryResponse>;
  /** A device's aggregates, as `GET /devices/{id}` returns them; undefined for a device never seen. */
  device(deviceId: string): Promise<DeviceState | undefined>;
  /** A device's minute windows in [from, to], as `GET /devices/{id}/windows` returns them. */
  windows(deviceId: string, from?: number, to?: number): Promise<WindowState[]>;
  /** The fleet totals, as `GET /stats` returns them. */
  stats(): Promise<FleetStats>;
  /** Device summaries published since the testbed started (processed-data, DeviceSummary). */
  summaries(): Promise<OutputMessage[]>;
  /** Alerts published since the testbed started (iot-alerts, Alert). */
  alerts(): Promise<OutputMessage[]>;
  /** Quarantined records published since the testbed started (iot-data-dlq), with their x-reason header. */
  deadLetters(): Promise<OutputMessage<Buffer | null>[]>;
  readonly faults: Faults;
  /** Stops the servers and restores the environment; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts a real redis-server and Kafka broker (librdkafka's mock cluster) with Surge's topics, on
 * free loopback ports, and sets `process.env` for Surge's handlers (restored by `close()`). Use
 * `await using` (or `close()` in an after hook); it works the same from vitest and node:test.
 *
 * @example
 * await using bed = await startTestbed();
 * await bed.analytics(mskEvent([reading({ temperature: 30 })]));
 * expect((await bed.device('dev-1'))?.temperature.max).toBe(30);
 */
export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const partitions = options.partitions ?? 3;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 100) {
    throw new TestingKitError(`startTestbed() takes partitions from 1 to 100, got ${describe(partitions)}`);
  }
  const [redis, kafka] = await Promise.all([
    startRedis({ durable: true }),
    startMockKafka({ topics: Object.values(DEFAULT_TOPICS).map((name) => ({ name, partitions })) }),
  ]);
  try {
    return await open(redis, kafka, options.env ?? {});
  } catch (error) {
    await Promise.all([redis.stop(), kafka.stop()]);
    throw error;
  }
}

async function open(
  redis: LocalRedis,
  kafka: MockKafka,
  extra: Readonly<Record<string, string>>,
): Promise<Testbed> {
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    KAFKA_BROKERS: kafka.bootstrapServers,
    // The mock cluster names no transaction coordinator.
    KAFKA_IDEMPOTENT: 'false',
    // One quick retry: an injected fault fails the batch in milliseconds, not seconds.
    KAFKA_RETRIES: '1',
    ...extra,
  };
  const brokers = kafka.bootstrapServers;
  const since = new Map<string, Map<number, number>>(
    await Promise.all(
      [DEFAULT_TOPICS.summaries, DEFAULT_TOPICS.alerts, DEFAULT_TOPICS.deadLetter].map(
        async (topic) => [topic, await topicEnd(brokers, topic)] as const,
      ),
    ),
  );
  const container = createAnalyticsContainer(env);
  const analytics = createAnalyticsHandler({ container: () => container });
  const readerClient = await connectRedis({ redisUrl: redis.url });
  const reader = new RedisAnalyticsReader(readerClient, { keyPrefix: env.REDIS_KEY_PREFIX ?? 'surge' });
  const query = createQueryHandler({ reader: () => reader });
  const read = (topic: string) => readTopic(brokers, topic, since.get(topic));
  const decoded = async (topic: string, recordName: string): Promise<OutputMessage[]> =>
    (await read(topic)).map((message) => ({
      ...common(message),
      value: decodeOutput(message, recordName),
    }));

  // Last, once nothing above can fail: close() restores what this replaces.
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    readerClient.disconnect();
    await container.close().catch(() => undefined);
    await Promise.all([redis.stop(), kafka.stop()]);
  };
  return {
    env,
    analytics: (event, context) => analytics(event, context),
    async query(request) {
      const event = typeof request === 'string' ? httpRequest(request) : request;
      const response = await query(event);
      return { statusCode: response.statusCode, body: JSON.parse(response.body) };
    },
    device: (deviceId) => reader.device(deviceId),
    windows: (deviceId, from = 0, to = Number.MAX_SAFE_INTEGER) => reader.windows(deviceId, from, to),
    stats: () => reader.stats(),
    summaries: () => decoded(DEFAULT_TOPICS.summaries, 'surge.iot.DeviceSummary'),
    alerts: () => decoded(DEFAULT_TOPICS.alerts, 'surge.iot.Alert'),
    async deadLetters() {
      return (await read(DEFAULT_TOPICS.deadLetter)).map((message) => ({
        ...common(message),
        value: message.value,
      }));
    },
    faults: {
      redisDown: () => redis.kill(),
      redisUp: () => redis.restart(),
      refuseProduce: (count, code = 87) => kafka.failRequests(0, count, code),
      brokersDown: () => kafka.setBrokerDown(-1),
      brokersUp: () => kafka.setBrokerUp(-1),
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function common(message: ReadMessage) {
  return {
    partition: message.partition,
    offset: message.offset,
    key: message.key?.toString('utf8') ?? null,
    headers: message.headers,
  };
}

function decodeOutput(message: ReadMessage, name: string): Record<string, unknown> {
  const value = message.value;
  if (value === null) throw new TestingKitError(`message ${message.offset} has no value`);
  const result = registry.decodeFramed<Record<string, unknown>>(value.readUInt32BE(1), value, name);
  if (!result.ok) throw new TestingKitError(`message ${message.offset} is not a ${name}: ${result.error}`);
  return result.value;
}
