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
 * Whether a decoded reading can be aggregated: the rules of `explainInvalidReading` as one
 * expression, for the hot path (a function of early returns with a message each costs about twice
 * as much per record). The tests hold the two to the same answer.
 */
export function isValidReading(reading: Telemetry, now: number): boolean {
  const { ts, temperature, humidity, battery, location } = reading;
  return (
    Number.isSafeInteger(ts) &&
    ts >= EARLIEST_TS &&
    ts <= now + MAX_CLOCK_SKEW_MS &&
    temperature >= -100 &&
    temperature <= 200 &&
    humidity >= 0 &&
    humidity <= 100 &&
    battery >= 0 &&
    battery <= 100 &&
    (location === null || (Number.isFinite(location.lat) && Number.isFinite(location.lon))) &&
    DEVICE_ID_PATTERN.test(reading.deviceId)
  );
}

/**
 * Why a decoded reading cannot be aggregated, or undefined when it is valid.
 * `now` is the processor's clock, injected so that tests and replays are deterministic.
 */
export function findInvalidField(reading: Telemetry, now: number): string | undefined {
  return isValidReading(reading, now) ? undefined : explainInvalidReading(reading, now);
}

/** The first rule a reading breaks, as a message; undefined when it breaks none. */
export function explainInvalidReading(reading: Telemetry, now: number): string | undefined {
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
