import { describe, expect, it, vi } from 'vitest';
import { BatchFactory } from '../../bench/fixtures';
import { classifyRecord } from '../../functions/analytics/decode';
import type { Telemetry } from '../../functions/domain/telemetry';
import { SCHEMA_IDS, SchemaRegistry } from '../../functions/shared/avro/schema-registry';
import { parseMskEvent } from '../../functions/shared/msk/event';

const registry = SchemaRegistry.fromDirectory();

/** The batch through the handler's own decoding and validation: every record must be accepted. */
function decodeAll(factory: BatchFactory, size: number): { schemaId: number; reading: Telemetry }[] {
  return parseMskEvent(factory.event(size)).map((record) => {
    const classified = classifyRecord(record, registry);
    if (!classified.accepted) throw new Error(`${classified.reason}: ${classified.error}`);
    expect(record.key?.toString('utf8')).toBe(classified.reading.deviceId);
    return { schemaId: (record.value as Buffer).readUInt32BE(1), reading: classified.reading };
  });
}

describe('bench batches', () => {
  it('gives every batch fresh offsets, across factories too, so that none is skipped as a redelivery', () => {
    const a = new BatchFactory(registry, 10);
    const b = new BatchFactory(registry, 10);
    const offsets = [a.event(50), b.event(50), a.event(50, 'json')].flatMap((event) =>
      parseMskEvent(event).map((record) => record.offset),
    );
    expect(new Set(offsets).size).toBe(150);
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
  });

  it('delivers Confluent-framed Avro of both telemetry versions from the fleet it was given', () => {
    const decoded = decodeAll(new BatchFactory(registry, 100), 2_000);
    const devices = new Set(decoded.map((d) => d.reading.deviceId));
    expect(devices.size).toBe(100);
    const versions = new Set(decoded.map((d) => d.schemaId));
    expect(versions).toEqual(new Set([SCHEMA_IDS.telemetryV1, SCHEMA_IDS.telemetryV2]));
  });

  it('carries the same readings as JSON and as raw Avro v2 for the same seed and clock', () => {
    // Each factory starts its fleet's event time from the clock; the same clock gives the same readings.
    const clock = vi.spyOn(Date, 'now').mockReturnValue(Date.now());
    let factories: BatchFactory[];
    try {
      factories = [0, 1, 2].map(() => new BatchFactory(registry, 20, 3, 'same'));
    } finally {
      clock.mockRestore();
    }
    const [forAvro, forJson, forRaw] = factories as [BatchFactory, BatchFactory, BatchFactory];
    const avro = decodeAll(forAvro, 200).map((d) => d.reading);
    const json = parseMskEvent(forJson.event(200, 'json')).map(
      (record) => JSON.parse((record.value as Buffer).toString('utf8')) as Telemetry,
    );
    const v2 = registry.typeOf(SCHEMA_IDS.telemetryV2);
    const raw = parseMskEvent(forRaw.event(200, 'raw-avro-v2')).map(
      (record) => v2.fromBuffer(record.value as Buffer) as Telemetry,
    );
    // Avro carries the battery as a float, JSON as the generator's double.
    const essentials = (r: Telemetry) => [
      r.deviceId,
      r.ts,
      r.temperature,
      r.humidity,
      Math.fround(r.battery),
      r.status,
    ];
    expect(json.map(essentials)).toEqual(avro.map(essentials));
    expect(raw.map(essentials)).toEqual(avro.map(essentials));
  });
});
