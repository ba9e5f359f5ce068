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
}

const EVENT_SOURCES = new Set(['aws:kafka', 'SelfManagedKafka']);

function fail(message: string): never {
  throw new InvalidEventError(`not an MSK event: ${message}`);
}

/** Names a record in an error; built only when one is thrown (a string per record costs). */
function where(topicPartition: string, index: number): string {
  return `records["${topicPartition}"][${index}]`;
}

function base64Text(value: unknown, topicPartition: string, index: number, field: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') fail(`${where(topicPartition, index)}.${field} must be a base64 string`);
  return value;
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
      if (headers !== undefined && !Array.isArray(headers))
        fail(`${where(topicPartition, i)}.headers must be an array`);
      flat.push(
        new EventRecord(
          topic,
          partition as number,
          offset as number,
          typeof timestamp === 'number' ? timestamp : 0,
          base64Text(record.key, topicPartition, i, 'key'),
          base64Text(record.value, topicPartition, i, 'value'),
          (headers as SourceRecord['headers'] | undefined) ?? [],
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
