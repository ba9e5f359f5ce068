import { describe, expect, it } from 'vitest';
import { classifyRecord } from '../../../functions/analytics/decode';
import type { Telemetry } from '../../../functions/domain/telemetry';
import { SCHEMA_IDS } from '../../../functions/shared/avro/schema-registry';
import type { SourceRecord } from '../../../functions/shared/msk/event';
import { framed, registry, telemetry } from '../../support/records';

const NOW = Date.UTC(2026, 10, 25);

function source(value: Buffer | null): SourceRecord {
  return {
    topic: 'iot-data',
    partition: 0,
    offset: 7,
    timestamp: NOW,
    key: Buffer.from('dev-1'),
    value,
    headers: [],
  };
}

function classify(value: Buffer | null) {
  return classifyRecord(source(value), registry);
}

/** Encodes with avsc but without validation, so out-of-range values reach the processor as devices send them. */
function rawFramed(reading: Record<string, unknown>): Buffer {
  const type = registry.typeOf(SCHEMA_IDS.telemetryV2);
  const body = type.toBuffer(reading);
  return Buffer.concat([Buffer.from([0, 0, 0, 0, SCHEMA_IDS.telemetryV2]), body]);
}

/** A v1 reading without location ends with [status index, union index]: corrupt one of them. */
function withByte(fromEnd: number, byte: number): Buffer {
  const { firmware: _omitted, ...v1 } = telemetry({ location: null });
  const value = registry.encode(SCHEMA_IDS.telemetryV1, v1);
  value[value.length + fromEnd] = byte;
  return value;
}

describe('classifyRecord', () => {
  it('accepts a v2 reading as written', () => {
    const reading = telemetry();
    const result = classify(framed(reading, SCHEMA_IDS.telemetryV2));
    expect(result).toMatchObject({ accepted: true, reading });
  });

  it('reads a v1 reading with the v2 schema, firmware defaulting to "unknown"', () => {
    const { firmware: _omitted, ...v1 } = telemetry({ location: null });
    const result = classify(registry.encode(SCHEMA_IDS.telemetryV1, v1));
    expect(result).toMatchObject({ accepted: true, reading: { ...v1, firmware: 'unknown' } });
  });

  it('quarantines a record without a value as NULL_VALUE', () => {
    expect(classify(null)).toMatchObject({ accepted: false, reason: 'NULL_VALUE' });
  });

  it.each([
    ['shorter than the header', Buffer.from([0, 0, 0])],
    ['empty', Buffer.alloc(0)],
    ['a wrong magic byte', Buffer.concat([Buffer.from([1]), framed(telemetry()).subarray(1)])],
    ['JSON instead of Avro', Buffer.from(JSON.stringify(telemetry()))],
  ])('quarantines a value %s as BAD_MAGIC', (_case, value) => {
    expect(classify(value)).toMatchObject({ accepted: false, reason: 'BAD_MAGIC' });
  });

  it.each([
    ['an id the manifest does not know', 99],
    ['the id of a schema that is not telemetry', SCHEMA_IDS.alert],
  ])('quarantines %s as UNKNOWN_SCHEMA', (_case, id) => {
    const value = framed(telemetry());
    value.writeUInt32BE(id, 1);
    const result = classify(value);
    expect(result).toMatchObject({ accepted: false, reason: 'UNKNOWN_SCHEMA' });
    expect(result.accepted ? '' : result.error).toContain(String(id));
  });

  it.each([
    ['a truncated body', framed(telemetry()).subarray(0, 20)],
    ['trailing bytes', Buffer.concat([framed(telemetry()), Buffer.from([1, 2, 3])])],
    [
      'a body of other data',
      Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]),
    ],
    ['an enum index out of range', withByte(-2, 14)],
    ['a union index out of range', withByte(-1, 8)],
  ])('quarantines %s as DECODE_ERROR', (_case, value) => {
    expect(classify(value)).toMatchObject({ accepted: false, reason: 'DECODE_ERROR' });
  });

  const invalid: [string, Partial<Telemetry>][] = [
    ['an empty deviceId', { deviceId: '' }],
    ['a deviceId with a space', { deviceId: 'dev 1' }],
    ['a deviceId with a brace', { deviceId: 'dev{1}' }],
    ['a deviceId of 129 characters', { deviceId: 'd'.repeat(129) }],
    ['a NaN temperature', { temperature: Number.NaN }],
    ['an infinite humidity', { humidity: Number.POSITIVE_INFINITY }],
    ['a temperature below -100', { temperature: -100.01 }],
    ['a temperature above 200', { temperature: 200.5 }],
    ['a humidity below 0', { humidity: -0.1 }],
    ['a humidity above 100', { humidity: 100.1 }],
    ['a battery above 100', { battery: 101 }],
    ['a negative battery', { battery: -1 }],
    ['a ts before 2000', { ts: Date.UTC(1999, 11, 31, 23, 59, 59, 999) }],
    ['a ts more than a day ahead', { ts: NOW + 86_400_001 }],
    ['a non-finite latitude', { location: { lat: Number.NaN, lon: 2 } }],
  ];
  it.each(invalid)('quarantines %s as INVALID, saying which field', (_case, overrides) => {
    const result = classify(rawFramed({ ...telemetry(), ...overrides }));
    expect(result).toMatchObject({ accepted: false, reason: 'INVALID' });
    const field = Object.keys(overrides)[0] as string;
    expect(result.accepted ? '' : result.error).toContain(field === 'location' ? 'location' : field);
  });

  it.each([
    ['the bounds of every range', { temperature: -100, humidity: 0, battery: 100 }],
    ['the other bounds', { temperature: 200, humidity: 100, battery: 0 }],
    ['a ts of exactly 2000-01-01', { ts: Date.UTC(2000, 0, 1) }],
    ['a ts exactly a day ahead', { ts: NOW + 86_400_000 }],
    ['a deviceId of 128 allowed characters', { deviceId: `${'a'.repeat(120)}.-_:AZ09` }],
  ])('accepts %s', (_case, overrides) => {
    expect(classify(framed(telemetry(overrides)))).toMatchObject({ accepted: true });
  });
});
