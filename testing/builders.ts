import type { APIGatewayProxyEventV2, MSKEvent } from 'aws-lambda';
import type { Telemetry } from '../functions/domain/telemetry';
import { SCHEMA_IDS, SchemaRegistry } from '../functions/shared/avro/schema-registry';
import { DEFAULT_TOPICS } from '../functions/shared/config';
import { apiGatewayEvent } from '../local/api-gateway-event';
import { buildMskEvent, type KafkaRecordInput } from '../local/msk-event';

/** A helper of the testing kit was given what it cannot use; the message says what it expected. */
export class TestingKitError extends Error {
  override name = 'TestingKitError';
}

/** Surge's schemas, as the handlers read them; the testbed decodes outputs with it too. */
export const registry = SchemaRegistry.fromDirectory();
/** A reading's fields, as the newest telemetry schema has them. */
const READING_FIELDS: readonly string[] = (
  registry.typeOf(SCHEMA_IDS.telemetryV2) as unknown as { fields: { name: string }[] }
).fields.map((field) => field.name);

/**
 * A valid reading: device `dev-1`, now, 21.5 °C, 40 % humidity, battery 90, status OK, no location,
 * firmware `1.0.0`. Override what your test is about.
 *
 * @example
 * reading({ deviceId: 'pump-7', temperature: 95, status: 'FAIL' })
 */
export function reading(overrides: Partial<Telemetry> = {}): Telemetry {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new TestingKitError(`reading() takes an object of fields to override, got ${describe(overrides)}`);
  }
  const unknown = Object.keys(overrides).filter((field) => !READING_FIELDS.includes(field));
  if (unknown.length > 0) {
    throw new TestingKitError(
      `reading() got unknown field ${unknown.map((f) => `"${f}"`).join(', ')}; a reading has ${READING_FIELDS.join(', ')}`,
    );
  }
  return {
    deviceId: 'dev-1',
    ts: Date.now(),
    temperature: 21.5,
    humidity: 40,
    battery: 90,
    status: 'OK',
    location: null,
    firmware: '1.0.0',
    ...overrides,
  };
}

/**
 * How a reading travels in Kafka: Confluent-framed Avro of schema version 2 (the default) or 1
 * (no firmware: it arrives as "unknown"), or JSON.
 */
export type Encoding = 'avro-v2' | 'avro-v1' | 'json';
const ENCODINGS: readonly Encoding[] = ['avro-v2', 'avro-v1', 'json'];

/**
 * A reading's bytes as a device's producer writes them.
 *
 * @example
 * encodeReading(reading(), 'avro-v1')
 */
export function encodeReading(value: Telemetry, encoding: Encoding = 'avro-v2'): Buffer {
  if (!ENCODINGS.includes(encoding)) {
    throw new TestingKitError(
      `encodeReading() takes one of ${ENCODINGS.join(', ')}, got ${describe(encoding)}`,
    );
  }
  if (encoding === 'json') return Buffer.from(JSON.stringify(value));
  const schema = encoding === 'avro-v1' ? SCHEMA_IDS.telemetryV1 : SCHEMA_IDS.telemetryV2;
  try {
    return registry.encode(schema, value);
  } catch (cause) {
    throw new TestingKitError(
      `encodeReading() cannot encode ${describe(value)} as ${encoding}: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** A record of an MSK event, when a reading or bytes alone do not say enough. */
export interface RecordSpec {
  /** A reading (encoded with `encoding`), raw bytes (sent as they are), or null (a tombstone). */
  readonly value: Telemetry | Buffer | null;
  /** @default - the reading's device id; none for bytes or a tombstone */
  readonly key?: string | Buffer | null;
  readonly headers?: Readonly<Record<string, string | Buffer>>[];
  /** The Kafka timestamp, epoch ms. @default - now */
  readonly timestamp?: number;
  /** @default 'avro-v2' */
  readonly encoding?: Encoding;
}

export interface MskEventOptions {
  /** @default 'iot-data' */
  readonly topic?: string;
  /** @default 0 */
  readonly partition?: number;
  /** The first record's offset; the others follow. @default 0 */
  readonly startOffset?: number;
}

/**
 * An event as the MSK event source mapping delivers it to the analytics handler: records in one
 * topic-partition with consecutive offsets, key and value in base64, headers as byte arrays.
 * Each item is a reading (Avro v2, keyed by its device id), raw bytes, null (a tombstone) or a
 * RecordSpec.
 *
 * @example
 * mskEvent([reading({ temperature: 20 }), reading({ temperature: 22 })], { startOffset: 100 })
 */
export function mskEvent(
  items: readonly (Telemetry | Buffer | null | RecordSpec)[],
  options: MskEventOptions = {},
): MSKEvent {
  if (!Array.isArray(items)) {
    throw new TestingKitError(
      `mskEvent() takes an array of readings, Buffers, nulls or records, got ${describe(items)}`,
    );
  }
  const { topic = DEFAULT_TOPICS.input, partition = 0, startOffset = 0 } = options;
  if (!Number.isInteger(partition) || partition < 0) {
    throw new TestingKitError(
      `mskEvent() takes a partition that is a whole number of 0 or more, got ${describe(partition)}`,
    );
  }
  if (!Number.isInteger(startOffset) || startOffset < 0) {
    throw new TestingKitError(
      `mskEvent() takes a startOffset that is a whole number of 0 or more, got ${describe(startOffset)}`,
    );
  }
  const records = items.map((item, i): KafkaRecordInput => {
    const position = { topic, partition, offset: startOffset + i };
    const spec = toSpec(item, i);
    const value = spec.value;
    const encoded = value === null || Buffer.isBuffer(value) ? value : encodeReading(value, spec.encoding);
    const key =
      spec.key !== undefined ? spec.key : value !== null && !Buffer.isBuffer(value) ? value.deviceId : null;
    return {
      ...position,
      key,
      value: encoded,
      ...(spec.headers ? { headers: spec.headers } : {}),
      ...(spec.timestamp !== undefined ? { timestamp: spec.timestamp } : {}),
    };
  });
  return buildMskEvent(records, { defaultTopic: topic });
}

function isReading(item: unknown): item is Telemetry {
  return typeof item === 'object' && item !== null && 'deviceId' in item && 'ts' in item;
}

function toSpec(item: unknown, index: number): RecordSpec {
  if (item === null || Buffer.isBuffer(item) || isReading(item)) return { value: item };
  if (typeof item === 'object' && 'value' in item) {
    const spec = item as RecordSpec;
    if (spec.value === null || Buffer.isBuffer(spec.value) || isReading(spec.value)) return spec;
  }
  throw new TestingKitError(
    `mskEvent() item ${index} is ${describe(item)}; expected a reading (from reading()), a Buffer, null, or { value, key?, headers?, timestamp?, encoding? }`,
  );
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * An HTTP API (payload format 2.0) event for the query handler, from "METHOD /path?query".
 *
 * @example
 * httpRequest('GET /devices/dev-1/windows?from=0&to=1893456000000')
 */
export function httpRequest(request: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const match = typeof request === 'string' ? /^([A-Z]+) (\/\S*)$/.exec(request) : null;
  if (match === null || !METHODS.includes(match[1] as string)) {
    throw new TestingKitError(
      `httpRequest() takes "METHOD /path", e.g. "GET /devices/dev-1", got ${describe(request)}`,
    );
  }
  return apiGatewayEvent(match[1] as string, match[2] as string, headers);
}

/** A value as an error message shows it. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'object') return `an object with ${Object.keys(value).join(', ') || 'no fields'}`;
  return `${typeof value} ${String(value)}`;
}
