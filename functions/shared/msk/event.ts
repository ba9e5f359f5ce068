import type { MSKEvent } from 'aws-lambda';
import { InvalidEventError } from '../errors';

/** One Kafka record of an MSK event, with key and value decoded from base64 (on each read). */
export interface SourceRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  /** The key exactly as produced; null for a record without a key. */
  readonly key: Buffer | null;
  /** The value exactly as produced; null for a tombstone. */
  readonly value: Buffer | null;
  readonly headers: ReadonlyArray<Readonly<Record<string, number[]>>>;
  /**
   * Why the record's content in the event is unusable (a key or value that is not base64 text,
   * headers that are not byte arrays): such a record is quarantined as INVALID, not thrown, so that
   * it cannot block its partition. Undefined for a well-formed record.
   */
  readonly problem?: string;
}

const EVENT_SOURCES = new Set(['aws:kafka', 'SelfManagedKafka']);

function fail(message: string): never {
  throw new InvalidEventError(`not an MSK event: ${message}`);
}

/** Names a record in an error; built only when one is thrown (a string per record costs). */
function where(topicPartition: string, index: number): string {
  return `records[${JSON.stringify(topicPartition.slice(0, 256))}][${index}]`;
}

type Headers = SourceRecord['headers'];

function isByteArray(value: unknown): value is number[] {
  if (!Array.isArray(value)) return false;
  for (const byte of value) {
    // Java's bytes are signed: -128..255 covers both spellings.
    if (!Number.isInteger(byte) || byte < -128 || byte > 255) return false;
  }
  return true;
}

/** The record's headers when they are an array of objects of byte arrays, else why not. */
function checkHeaders(headers: unknown): { headers: Headers; problem?: string } {
  if (headers === undefined || headers === null) return { headers: [] };
  if (!Array.isArray(headers)) return { headers: [], problem: 'headers must be an array' };
  for (let h = 0; h < headers.length; h++) {
    const header = headers[h] as unknown;
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      return { headers: [], problem: `headers[${h}] must be an object of byte arrays, got ${header}` };
    }
    for (const [name, bytes] of Object.entries(header)) {
      if (!isByteArray(bytes)) {
        return { headers: [], problem: `headers[${h}].${name.slice(0, 64)} must be an array of bytes` };
      }
    }
  }
  return { headers: headers as Headers };
}

/**
 * Key and value stay base64 text until read, and each read decodes afresh: the processor reads a
 * value once to classify it and keys only for dead letters, so no decoded copy outlives its use
 * (ten thousand long-lived buffers per batch were a large share of the garbage collector's work).
 */
class EventRecord implements SourceRecord {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly timestamp: number,
    private readonly keyText: string | null,
    private readonly valueText: string | null,
    readonly headers: SourceRecord['headers'],
    readonly problem: string | undefined,
  ) {}

  get key(): Buffer | null {
    return this.keyText === null ? null : Buffer.from(this.keyText, 'base64');
  }

  get value(): Buffer | null {
    return this.valueText === null ? null : Buffer.from(this.valueText, 'base64');
  }
}

/**
 * Checks the shape of an event from an MSK (or self-managed Kafka) event source mapping and
 * flattens its records in the order AWS delivered them: by topic-partition, then offset.
 */
export function parseMskEvent(event: unknown): SourceRecord[] {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) fail('expected an object');
  const { eventSource, records } = event as Partial<MSKEvent>;
  if (typeof eventSource !== 'string' || !EVENT_SOURCES.has(eventSource)) {
    fail(`eventSource must be "aws:kafka" or "SelfManagedKafka", got ${JSON.stringify(eventSource)}`);
  }
  if (typeof records !== 'object' || records === null || Array.isArray(records)) {
    fail('records must be an object keyed by topic-partition');
  }
  const flat: SourceRecord[] = [];
  for (const [topicPartition, list] of Object.entries(records)) {
    if (!Array.isArray(list)) fail(`records["${topicPartition}"] must be an array`);
    for (let i = 0; i < list.length; i++) {
      const record = list[i] as unknown as Record<string, unknown>;
      if (typeof record !== 'object' || record === null)
        fail(`${where(topicPartition, i)} must be an object`);
      const { topic, partition, offset, timestamp, headers } = record;
      if (typeof topic !== 'string' || topic === '')
        fail(`${where(topicPartition, i)}.topic must be a non-empty string`);
      if (!Number.isSafeInteger(partition) || (partition as number) < 0) {
        fail(`${where(topicPartition, i)}.partition must be a non-negative integer`);
      }
      if (!Number.isSafeInteger(offset) || (offset as number) < 0) {
        fail(`${where(topicPartition, i)}.offset must be a non-negative integer`);
      }
      // Content problems quarantine the one record; only where it sits (above) can fail the event.
      const { key, value } = record;
      const checked = headers === undefined ? undefined : checkHeaders(headers);
      let problem = checked?.problem;
      if (key !== undefined && key !== null && typeof key !== 'string') problem ??= 'key must be base64 text';
      if (value !== undefined && value !== null && typeof value !== 'string')
        problem ??= 'value must be base64 text';
      flat.push(
        new EventRecord(
          topic,
          partition as number,
          offset as number,
          typeof timestamp === 'number' && Number.isFinite(timestamp) ? timestamp : 0,
          typeof key === 'string' ? key : null,
          typeof value === 'string' ? value : null,
          checked?.headers ?? [],
          problem,
        ),
      );
    }
  }
  return flat;
}

/** `topic-partition`, the key AWS groups records by and the identifier of partial batch responses. */
export function topicPartition(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}
