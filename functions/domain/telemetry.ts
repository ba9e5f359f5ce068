/** The reading every schema version resolves to (Telemetry v2; v1 records get firmware "unknown"). */
export type Status = 'OK' | 'WARN' | 'FAIL';

export interface GeoPoint {
  readonly lat: number;
  readonly lon: number;
}

export interface Telemetry {
  readonly deviceId: string;
  readonly ts: number;
  readonly temperature: number;
  readonly humidity: number;
  readonly battery: number;
  readonly status: Status;
  readonly location: GeoPoint | null;
  readonly firmware: string;
}

/** A device's latest reading, as the aggregates keep it. */
export type LastReading = Omit<Telemetry, 'deviceId'>;

export const TELEMETRY_RECORD_NAME = 'surge.iot.Telemetry';

/** Why a record itself is quarantined. */
export const RECORD_FAULTS = [
  'NULL_VALUE',
  'BAD_MAGIC',
  'UNKNOWN_SCHEMA',
  'DECODE_ERROR',
  'INVALID',
] as const;
export type RecordFault = (typeof RECORD_FAULTS)[number];

/**
 * Every reason a record goes to the dead-letter topic: its own faults, and STATE_UNREADABLE (not
 * the record's fault: its device's stored state cannot be read, so it was not applied).
 */
export const QUARANTINE_REASONS = [...RECORD_FAULTS, 'STATE_UNREADABLE'] as const;
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];
