import type { Telemetry } from '../../functions/domain/telemetry';
import { SCHEMA_IDS, SchemaRegistry } from '../../functions/shared/avro/schema-registry';
import type { KafkaRecordInput } from '../../local/msk-event';

export const registry = SchemaRegistry.fromDirectory();

/** A valid reading; override what the test is about. */
export function telemetry(overrides: Partial<Telemetry> = {}): Telemetry {
  return {
    deviceId: 'dev-1',
    ts: Date.UTC(2026, 10, 1, 12, 0, 0),
    temperature: 21.5,
    humidity: 40,
    battery: 90,
    status: 'OK',
    location: { lat: 48.85, lon: 2.35 },
    firmware: '2.0.1',
    ...overrides,
  };
}

export function framed(reading: Telemetry, schemaId: number = SCHEMA_IDS.telemetryV2): Buffer {
  return registry.encode(schemaId, reading);
}

/** A Kafka record carrying a reading, keyed by its device as the devices publish. */
export function telemetryRecord(
  reading: Telemetry,
  position: { offset: number; partition?: number; topic?: string },
  schemaId: number = SCHEMA_IDS.telemetryV2,
): KafkaRecordInput {
  return { ...position, key: reading.deviceId, value: framed(reading, schemaId) };
}

/** The readings the processor will see: v1 records are read with firmware "unknown". */
export interface PlacedReading {
  readonly reading: Telemetry;
  readonly partition: number;
  readonly offset: number;
}

/** Decodes Confluent-framed Avro messages read from an output topic, keeping their keys. */
export function decodeMessages(
  messages: readonly { key: Buffer | null; value: Buffer | null }[],
  recordName: string,
): Record<string, unknown>[] {
  return messages.map((m) => {
    const value = m.value as Buffer;
    const decoded = registry.decodeFramed<Record<string, unknown>>(value.readUInt32BE(1), value, recordName);
    if (!decoded.ok) throw new Error(`not a ${recordName}: ${decoded.error}`);
    return { key: m.key?.toString(), ...decoded.value };
  });
}
