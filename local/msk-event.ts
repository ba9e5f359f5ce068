import type { MSKEvent, MSKRecord } from 'aws-lambda';

/**
 * Builds MSK events exactly as AWS's event source mapping delivers them: key and value in
 * base64, headers as arrays of byte values, records grouped under "topic-partition" in offset
 * order. Shared by the tests, the local event source emulator and the benchmarks.
 */

export interface KafkaRecordInput {
  readonly topic?: string;
  readonly partition?: number;
  readonly offset: number;
  /** The Kafka timestamp; readings more than a day after it are invalid. @default - now */
  readonly timestamp?: number;
  readonly key?: Buffer | string | null;
  /** null: a tombstone, delivered without a value. */
  readonly value: Buffer | null;
  readonly headers?: ReadonlyArray<Readonly<Record<string, string | Buffer>>>;
}

export interface MskEventOptions {
  readonly eventSourceArn?: string;
  readonly bootstrapServers?: string;
  readonly defaultTopic?: string;
}

export const EXAMPLE_CLUSTER_ARN =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/surge/a1b2c3d4-5678-90ab-cdef-1234567890ab-1';

function base64(value: Buffer | string): string {
  return (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('base64');
}

export function toMskRecord(input: KafkaRecordInput, defaultTopic = 'iot-data'): MSKRecord {
  const record: Record<string, unknown> = {
    topic: input.topic ?? defaultTopic,
    partition: input.partition ?? 0,
    offset: input.offset,
    timestamp: input.timestamp ?? Date.now(),
    timestampType: 'CREATE_TIME',
    headers: (input.headers ?? []).map((header) =>
      Object.fromEntries(
        Object.entries(header).map(([name, value]) => [
          name,
          [...(typeof value === 'string' ? Buffer.from(value) : value)],
        ]),
      ),
    ),
  };
  if (input.key !== undefined && input.key !== null) record.key = base64(input.key);
  if (input.value !== null) record.value = base64(input.value);
  return record as unknown as MSKRecord;
}

export function buildMskEvent(records: readonly KafkaRecordInput[], options: MskEventOptions = {}): MSKEvent {
  const grouped: Record<string, MSKRecord[]> = {};
  for (const input of records) {
    const record = toMskRecord(input, options.defaultTopic);
    const key = `${record.topic}-${record.partition}`;
    grouped[key] ??= [];
    grouped[key].push(record);
  }
  for (const list of Object.values(grouped)) list.sort((a, b) => a.offset - b.offset);
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: options.eventSourceArn ?? EXAMPLE_CLUSTER_ARN,
    bootstrapServers: options.bootstrapServers ?? 'b-1.surge.example.kafka.eu-west-1.amazonaws.com:9098',
    records: grouped,
  };
}
