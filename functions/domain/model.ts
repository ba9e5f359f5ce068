import type { LastReading, QuarantineReason, Status } from './telemetry';

/** What a device's aggregates look like to readers: the query API and the processed-data topic. */
export interface DeviceState {
  readonly deviceId: string;
  readonly count: number;
  readonly firstTs: number;
  readonly lastTs: number;
  readonly temperature: { readonly min: number; readonly max: number; readonly mean: number };
  readonly humidity: { readonly min: number; readonly max: number; readonly mean: number };
  readonly battery: { readonly min: number; readonly last: number };
  readonly status: Readonly<Record<Status, number>>;
  readonly last: LastReading;
}

export interface WindowState {
  readonly start: number;
  readonly count: number;
  readonly temperature: { readonly min: number; readonly max: number; readonly mean: number };
}

export interface FleetStats {
  readonly devices: number;
  readonly records: number;
  readonly quarantined: Readonly<Record<QuarantineReason, number>>;
}
