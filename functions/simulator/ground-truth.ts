import type { DeviceState } from '../domain/model';
import type { QuarantineReason, Telemetry } from '../domain/telemetry';

/**
 * The aggregates a fleet's readings should produce, accumulated the plain way as the simulator
 * sends them: the yardstick of end-to-end checks, independent of the processor's code.
 */
interface DeviceTruth {
  count: number;
  tMin: number;
  tMax: number;
  tSum: number;
  hMin: number;
  hMax: number;
  hSum: number;
  bMin: number;
  status: { OK: number; WARN: number; FAIL: number };
  firstTs: number;
  last: Telemetry;
}

/** The aggregates a device should have: the same shape the query API answers with. */
export type ExpectedDevice = DeviceState;

export interface GroundTruthFile {
  readonly records: number;
  readonly quarantined: Partial<Record<QuarantineReason, number>>;
  readonly devices: ExpectedDevice[];
}

export class GroundTruth {
  private readonly devices = new Map<string, DeviceTruth>();
  private records = 0;
  private readonly quarantined: Partial<Record<QuarantineReason, number>> = {};

  /** A valid reading as the processor will read it (v1 readings with firmware "unknown"). */
  add(reading: Telemetry): void {
    this.records++;
    const d = this.devices.get(reading.deviceId);
    if (d === undefined) {
      this.devices.set(reading.deviceId, {
        count: 1,
        tMin: reading.temperature,
        tMax: reading.temperature,
        tSum: reading.temperature,
        hMin: reading.humidity,
        hMax: reading.humidity,
        hSum: reading.humidity,
        bMin: reading.battery,
        status: { OK: 0, WARN: 0, FAIL: 0, [reading.status]: 1 },
        firstTs: reading.ts,
        last: reading,
      });
      return;
    }
    d.count++;
    d.tMin = Math.min(d.tMin, reading.temperature);
    d.tMax = Math.max(d.tMax, reading.temperature);
    d.tSum += reading.temperature;
    d.hMin = Math.min(d.hMin, reading.humidity);
    d.hMax = Math.max(d.hMax, reading.humidity);
    d.hSum += reading.humidity;
    d.bMin = Math.min(d.bMin, reading.battery);
    d.status[reading.status]++;
    d.firstTs = Math.min(d.firstTs, reading.ts);
    // The generator never repeats a device's ts, so the greatest ts alone picks the last reading.
    if (reading.ts > d.last.ts) d.last = reading;
  }

  quarantine(reason: QuarantineReason): void {
    this.quarantined[reason] = (this.quarantined[reason] ?? 0) + 1;
  }

  device(deviceId: string): ExpectedDevice | undefined {
    const d = this.devices.get(deviceId);
    if (d === undefined) return undefined;
    const { deviceId: _id, ...last } = d.last;
    return {
      deviceId,
      count: d.count,
      firstTs: d.firstTs,
      lastTs: d.last.ts,
      temperature: { min: d.tMin, max: d.tMax, mean: d.tSum / d.count },
      humidity: { min: d.hMin, max: d.hMax, mean: d.hSum / d.count },
      battery: { min: d.bMin, last: d.last.battery },
      status: { ...d.status },
      last,
    };
  }

  deviceIds(): string[] {
    return [...this.devices.keys()];
  }

  toJSON(): GroundTruthFile {
    return {
      records: this.records,
      quarantined: { ...this.quarantined },
      devices: this.deviceIds().map((id) => this.device(id) as ExpectedDevice),
    };
  }
}
