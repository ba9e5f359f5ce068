import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_IDS, SchemaRegistry, schemasDir } from '../../../../functions/shared/avro/schema-registry';
import { ConfigurationError } from '../../../../functions/shared/errors';
import manifest from '../../../../schemas/manifest.json' with { type: 'json' };
import { registry, telemetry } from '../../../support/records';

function fieldsOf(file: string): string[] {
  return JSON.parse(readFileSync(`${schemasDir()}/${file}`, 'utf8')).fields.map(
    (f: { name: string }) => f.name,
  );
}

describe('schemas', () => {
  it('keeps the Telemetry v1 fields of the data contract, in order', () => {
    expect(fieldsOf('telemetry-v1.avsc')).toEqual([
      'deviceId',
      'ts',
      'temperature',
      'humidity',
      'battery',
      'status',
      'location',
    ]);
  });

  it('makes Telemetry v2 the v1 fields plus firmware, defaulting to "unknown"', () => {
    expect(fieldsOf('telemetry-v2.avsc')).toEqual([...fieldsOf('telemetry-v1.avsc'), 'firmware']);
    const v2 = JSON.parse(readFileSync(`${schemasDir()}/telemetry-v2.avsc`, 'utf8'));
    expect(v2.fields.at(-1)).toEqual({ name: 'firmware', type: 'string', default: 'unknown' });
  });

  it('gives every schema a unique id, telemetry 1 and 2', () => {
    const ids = manifest.schemas.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(manifest.schemas.filter((s) => s.name === 'surge.iot.Telemetry').map((s) => s.id)).toEqual([1, 2]);
  });
});

describe('SchemaRegistry', () => {
  it('frames Avro in the Confluent wire format: magic byte, big-endian schema id, body', () => {
    const framed = registry.encode(SCHEMA_IDS.telemetryV2, telemetry());
    expect(framed[0]).toBe(0);
    expect(framed.readUInt32BE(1)).toBe(2);
    expect(registry.typeOf(2).fromBuffer(framed.subarray(5))).toMatchObject(telemetry());
  });

  it('frames values of any size, each message in a buffer of its own', () => {
    const big = telemetry({ firmware: 'f'.repeat(20_000) });
    const small = telemetry({ firmware: 'v1' });
    const first = registry.encode(SCHEMA_IDS.telemetryV2, big);
    const second = registry.encode(SCHEMA_IDS.telemetryV2, small);
    expect(registry.typeOf(2).fromBuffer(first.subarray(5))).toMatchObject(big);
    expect(registry.typeOf(2).fromBuffer(second.subarray(5))).toMatchObject(small);
  });

  it('names the schema id it does not know', () => {
    expect(() => registry.encode(999, {})).toThrow(ConfigurationError);
    expect(() => registry.encode(999, {})).toThrow(/schema id 999/);
  });

  it('fails with a clear error when the schema files are missing', () => {
    expect(() => SchemaRegistry.fromDirectory('/nonexistent')).toThrow(
      /cannot read Avro schema telemetry-v1.avsc/,
    );
  });
});
