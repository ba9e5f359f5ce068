import type { Telemetry } from './telemetry';

export const DEVICE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** 2000-01-01T00:00:00Z: anything earlier is a device with a reset clock. */
export const EARLIEST_TS = 946_684_800_000;
/** How far ahead of the processor's clock a device clock may run. */
export const MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000;

function within(value: number, min: number, max: number): boolean {
  return Number.isFinite(value) && value >= min && value <= max;
}

/**
 * Why a decoded reading cannot be aggregated, or undefined when it is valid.
 * `now` is the processor's clock, injected so that tests and replays are deterministic.
 */
export function findInvalidField(reading: Telemetry, now: number): string | undefined {
  if (!DEVICE_ID_PATTERN.test(reading.deviceId))
    return `deviceId ${JSON.stringify(reading.deviceId)} does not match ${DEVICE_ID_PATTERN.source}`;
  if (!Number.isSafeInteger(reading.ts) || reading.ts < EARLIEST_TS)
    return `ts ${reading.ts} is before 2000-01-01`;
  if (reading.ts > now + MAX_CLOCK_SKEW_MS) return `ts ${reading.ts} is more than a day in the future`;
  if (!within(reading.temperature, -100, 200))
    return `temperature ${reading.temperature} is outside -100..200`;
  if (!within(reading.humidity, 0, 100)) return `humidity ${reading.humidity} is outside 0..100`;
  if (!within(reading.battery, 0, 100)) return `battery ${reading.battery} is outside 0..100`;
  if (
    reading.location !== null &&
    !(Number.isFinite(reading.location.lat) && Number.isFinite(reading.location.lon))
  ) {
    return 'location has a non-finite coordinate';
  }
  return undefined;
}
