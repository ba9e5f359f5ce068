import type { IHeaders } from 'kafkajs';
import type { DeviceState } from '../domain/model';
import { SCHEMA_IDS, type SchemaRegistry } from '../shared/avro/schema-registry';
import type { TopicNames } from '../shared/config';
import type { OutboundMessage } from '../shared/kafka/publisher';
import { topicPartition } from '../shared/msk/event';
import type { AcceptedRecord, QuarantinedRecord } from './decode';

/**
 * The messages a batch publishes. Redelivery may publish them again, so every message has a
 * deterministic key and id from which consumers can drop repeats.
 */

/** At most this many bytes of `x-error`: a dead letter must fit its topic whatever the record held. */
export const MAX_ERROR_HEADER_BYTES = 512;

export function boundedError(error: string): string {
  if (Buffer.byteLength(error) <= MAX_ERROR_HEADER_BYTES) return error;
  // Cut on a character boundary, then mark the cut.
  const cut = Buffer.from(error)
    .subarray(0, MAX_ERROR_HEADER_BYTES - 3)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${cut}…`;
}

/**
 * The quarantined record's original key, value and headers (repeated names kept, in order), plus
 * why it was quarantined. Surge's own `x-` headers replace any the record carried under those names.
 */
export function deadLetterMessage(record: QuarantinedRecord, topics: TopicNames): OutboundMessage {
  const { source } = record;
  const headers: IHeaders = {};
  for (const header of source.headers) {
    for (const [name, bytes] of Object.entries(header)) {
      const value = Buffer.from(bytes);
      const earlier = headers[name];
      headers[name] =
        earlier === undefined
          ? value
          : Array.isArray(earlier)
            ? [...earlier, value]
            : [earlier as Buffer, value];
    }
  }
  headers['x-reason'] = record.reason;
  headers['x-error'] = boundedError(record.error);
  headers['x-source-topic'] = source.topic;
  headers['x-source-partition'] = String(source.partition);
  headers['x-source-offset'] = String(source.offset);
  return { topic: topics.deadLetter, key: source.key, value: source.value, headers };
}

/** Id of a device summary: the same aggregates always carry the same id. */
export function summaryId(deviceId: string, count: number): string {
  return `${deviceId}@${count}`;
}

/** A device summary encoded by avsc (summary-encoder.ts writes the same bytes from a stored state). */
export function summaryMessage(state: DeviceState, topic: string, registry: SchemaRegistry): OutboundMessage {
  return {
    topic,
    key: state.deviceId,
    value: registry.encode(SCHEMA_IDS.deviceSummary, {
      id: summaryId(state.deviceId, state.count),
      ...state,
    }),
  };
}

export type AlertReason = 'STATUS_FAIL' | 'HIGH_TEMPERATURE';

export function alertReasons(record: AcceptedRecord, temperatureThreshold: number): AlertReason[] {
  const reasons: AlertReason[] = [];
  if (record.reading.status === 'FAIL') reasons.push('STATUS_FAIL');
  if (record.reading.temperature > temperatureThreshold) reasons.push('HIGH_TEMPERATURE');
  return reasons;
}

/** Id of an alert: the position of the reading that raised it. */
export function alertId(record: AcceptedRecord): string {
  return `${topicPartition(record.source.topic, record.source.partition)}@${record.source.offset}`;
}

export function alertMessage(
  record: AcceptedRecord,
  reasons: AlertReason[],
  temperatureThreshold: number,
  topics: TopicNames,
  registry: SchemaRegistry,
): OutboundMessage {
  const { reading, source } = record;
  return {
    topic: topics.alerts,
    key: reading.deviceId,
    value: registry.encode(SCHEMA_IDS.alert, {
      id: alertId(record),
      deviceId: reading.deviceId,
      ts: reading.ts,
      reasons,
      status: reading.status,
      temperature: reading.temperature,
      temperatureThreshold,
      sourceTopic: source.topic,
      sourcePartition: source.partition,
      sourceOffset: source.offset,
    }),
  };
}
