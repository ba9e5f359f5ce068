import { RECORD_FAULTS, type RecordFault, type Status, type Telemetry } from '../domain/telemetry';
import { SCHEMA_IDS, type SchemaRegistry } from '../shared/avro/schema-registry';

/**
 * Plausible telemetry for a fleet: a daily temperature cycle per device, humidity that moves
 * against it, batteries that drain, and the occasional WARN or FAIL. Deterministic for a seed.
 */

export type SchemaChoice = 'v1' | 'v2' | 'mixed';

export interface GeneratorOptions {
  readonly devices: number;
  readonly seed?: number;
  /** Event time of the first reading. */
  readonly startTs?: number;
  /** Event time between two readings of the fleet. */
  readonly intervalMs?: number;
  readonly schema?: SchemaChoice;
  readonly devicePrefix?: string;
}

export interface GeneratedReading {
  readonly reading: Telemetry;
  readonly schemaId: number;
}

/** mulberry32: small, fast, good enough for test data. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const DAY_MS = 86_400_000;

export function deviceId(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(5, '0')}`;
}

export class TelemetryGenerator {
  private readonly next: () => number;
  private readonly battery: number[];
  private readonly phase: number[];
  private produced = 0;

  constructor(private readonly options: GeneratorOptions) {
    this.next = random(options.seed ?? 1);
    this.battery = Array.from({ length: options.devices }, () => 60 + this.next() * 40);
    this.phase = Array.from({ length: options.devices }, () => this.next() * DAY_MS);
  }

  /** The next reading, cycling through the devices. */
  reading(): GeneratedReading {
    const n = this.produced++;
    const device = n % this.options.devices;
    const ts = (this.options.startTs ?? Date.now() - 3_600_000) + n * (this.options.intervalMs ?? 10);
    const cycle = Math.sin(((ts + (this.phase[device] as number)) / DAY_MS) * 2 * Math.PI);
    const temperature = Math.round((21 + 6 * cycle + (this.next() - 0.5) * 2) * 100) / 100;
    const humidity =
      Math.round(Math.min(100, Math.max(0, 55 - 15 * cycle + (this.next() - 0.5) * 4)) * 10) / 10;
    const battery = Math.max(0, (this.battery[device] as number) - this.next() * 0.01);
    this.battery[device] = battery;
    const roll = this.next();
    const status: Status = roll < 0.01 ? 'FAIL' : roll < 0.05 ? 'WARN' : 'OK';
    const location =
      device % 3 === 0 ? null : { lat: 48 + (device % 100) / 100, lon: 2 + (device % 50) / 100 };
    const schema = this.options.schema ?? 'mixed';
    const v2 = schema === 'v2' || (schema === 'mixed' && n % 2 === 1);
    return {
      reading: {
        deviceId: deviceId(this.options.devicePrefix ?? 'sensor', device),
        ts,
        temperature,
        humidity,
        // float in Avro: keep the value a float32 can hold, so ground truth equals what is read back
        battery: Math.fround(battery),
        status,
        location,
        firmware: v2 ? `1.${device % 4}.0` : 'unknown',
      },
      schemaId: v2 ? SCHEMA_IDS.telemetryV2 : SCHEMA_IDS.telemetryV1,
    };
  }
}

/** A reading framed as the devices publish it: Confluent header, then Avro. */
export function encodeReading(registry: SchemaRegistry, generated: GeneratedReading): Buffer {
  return registry.encode(generated.schemaId, generated.reading);
}

/** A bad record of every kind the processor quarantines. */
export const BAD_RECORD_KINDS = RECORD_FAULTS;
export type BadRecordKind = RecordFault;

/** A value that the processor must quarantine for `kind`, derived from a good reading. */
export function badValue(
  registry: SchemaRegistry,
  generated: GeneratedReading,
  kind: BadRecordKind,
): Buffer | null {
  switch (kind) {
    case 'NULL_VALUE':
      return null;
    case 'BAD_MAGIC':
      return Buffer.from(JSON.stringify(generated.reading));
    case 'UNKNOWN_SCHEMA': {
      const value = encodeReading(registry, generated);
      value.writeUInt32BE(9_999, 1);
      return value;
    }
    case 'DECODE_ERROR':
      return encodeReading(registry, generated).subarray(0, 9);
    case 'INVALID':
      return registry.encode(SCHEMA_IDS.telemetryV2, { ...generated.reading, humidity: 250 });
  }
}
