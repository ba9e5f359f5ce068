import { type QuarantineReason, TELEMETRY_RECORD_NAME, type Telemetry } from '../domain/telemetry';
import { findInvalidField, READING_LIMITS } from '../domain/validate';
import { CONFLUENT_HEADER_BYTES, CONFLUENT_MAGIC, type SchemaRegistry } from '../shared/avro/schema-registry';
import type { SourceRecord } from '../shared/msk/event';

export interface AcceptedRecord {
  readonly source: SourceRecord;
  readonly reading: Telemetry;
}

export interface QuarantinedRecord {
  readonly source: SourceRecord;
  readonly reason: QuarantineReason;
  readonly error: string;
}

export type Classified =
  | ({ readonly accepted: true } & AcceptedRecord)
  | ({ readonly accepted: false } & QuarantinedRecord);

/**
 * Turns one Kafka record into a reading to aggregate, or a reason to quarantine it.
 * Never throws for bad input: a poison record must not block its partition. The answer depends on
 * the record alone (its bytes and its Kafka timestamp), so every delivery of it gets the same one.
 */
export function classifyRecord(source: SourceRecord, registry: SchemaRegistry): Classified {
  if (source.problem !== undefined) {
    return { accepted: false, source, reason: 'INVALID', error: source.problem };
  }
  const value = source.value;
  if (value === null) return { accepted: false, source, reason: 'NULL_VALUE', error: 'record has no value' };
  if (value.length > READING_LIMITS.valueBytes) {
    return {
      accepted: false,
      source,
      reason: 'INVALID',
      error: `value has ${value.length} bytes, more than the ${READING_LIMITS.valueBytes} a reading may have`,
    };
  }
  if (value.length < CONFLUENT_HEADER_BYTES || value[0] !== CONFLUENT_MAGIC) {
    return {
      accepted: false,
      source,
      reason: 'BAD_MAGIC',
      error:
        value.length < CONFLUENT_HEADER_BYTES
          ? `value has ${value.length} bytes, fewer than the 5-byte Confluent header`
          : `value starts with byte 0x${value[0]?.toString(16).padStart(2, '0')}, not the Confluent magic byte 0x00`,
    };
  }
  const decoded = registry.decodeFramed<Telemetry>(value.readUInt32BE(1), value, TELEMETRY_RECORD_NAME);
  if (!decoded.ok) return { accepted: false, source, reason: decoded.reason, error: decoded.error };
  const invalid = findInvalidField(decoded.value, source.timestamp);
  if (invalid !== undefined) return { accepted: false, source, reason: 'INVALID', error: invalid };
  return { accepted: true, source, reading: decoded.value };
}
