import type { Telemetry } from './telemetry';

export const DEVICE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The bounds of a reading, each documented in the README's data contract. A record past any of
 * them is quarantined as INVALID, its message naming the field; nothing past them reaches the store.
 */
export const READING_LIMITS = {
  /** Bytes of a record's value (Confluent header included); a v2 reading at every limit takes ~260. */
  valueBytes: 1_024,
  deviceIdCharacters: 128,
  firmwareCharacters: 64,
  temperature: { min: -100, max: 200 },
  humidity: { min: 0, max: 100 },
  battery: { min: 0, max: 100 },
  latitude: { min: -90, max: 90 },
  longitude: { min: -180, max: 180 },
} as const;

/** 2000-01-01T00:00:00Z: anything earlier is a device with a reset clock. */
export const EARLIEST_TS = 946_684_800_000;
/**
 * How far ahead of its Kafka record's timestamp a reading's ts may be. The bound is the record's own
 * timestamp, never the processor's clock, so every delivery of a record is classified the same way.
 */
export const MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000;

/** The latest ts a record with this Kafka timestamp may carry; a record without one has no bound. */
export function latestTsFor(recordTimestamp: number): number {
  return recordTimestamp > 0 ? recordTimestamp + MAX_CLOCK_SKEW_MS : Number.MAX_SAFE_INTEGER;
}

function within(value: number, bounds: { readonly min: number; readonly max: number }): boolean {
  return Number.isFinite(value) && value >= bounds.min && value <= bounds.max;
}

/**
 * Whether a decoded reading can be aggregated: the rules of `explainInvalidReading` as one
 * expression, for the hot path (a function of early returns with a message each costs about twice
 * as much per record). The tests hold the two to the same answer.
 * `recordTimestamp` is the Kafka timestamp of the record that carried it.
 */
export function isValidReading(reading: Telemetry, recordTimestamp: number): boolean {
  const { ts, temperature, humidity, battery, location } = reading;
  const L = READING_LIMITS;
  return (
    Number.isSafeInteger(ts) &&
    ts >= EARLIEST_TS &&
    ts <= latestTsFor(recordTimestamp) &&
    temperature >= L.temperature.min &&
    temperature <= L.temperature.max &&
    humidity >= L.humidity.min &&
    humidity <= L.humidity.max &&
    battery >= L.battery.min &&
    battery <= L.battery.max &&
    (location === null ||
      (location.lat >= L.latitude.min &&
        location.lat <= L.latitude.max &&
        location.lon >= L.longitude.min &&
        location.lon <= L.longitude.max)) &&
    reading.firmware.length <= L.firmwareCharacters &&
    DEVICE_ID_PATTERN.test(reading.deviceId)
  );
}

/** Why a decoded reading cannot be aggregated, or undefined when it is valid. */
export function findInvalidField(reading: Telemetry, recordTimestamp: number): string | undefined {
  return isValidReading(reading, recordTimestamp)
    ? undefined
    : explainInvalidReading(reading, recordTimestamp);
}

/** A value quoted in a message, cut short: a hostile field must not make a message large. */
export function quote(value: string, characters = 64): string {
  return value.length <= characters
    ? JSON.stringify(value)
    : `${JSON.stringify(value.slice(0, characters))}… (${value.length} characters)`;
}

/** The first rule a reading breaks, as a message that names the field; undefined when it breaks none. */
export function explainInvalidReading(reading: Telemetry, recordTimestamp: number): string | undefined {
  const L = READING_LIMITS;
  if (!DEVICE_ID_PATTERN.test(reading.deviceId))
    return `deviceId ${quote(reading.deviceId)} does not match ${DEVICE_ID_PATTERN.source}`;
  if (!Number.isSafeInteger(reading.ts) || reading.ts < EARLIEST_TS)
    return `ts ${reading.ts} is before 2000-01-01`;
  if (reading.ts > latestTsFor(recordTimestamp))
    return `ts ${reading.ts} is more than a day after the record's timestamp ${recordTimestamp}`;
  if (!within(reading.temperature, L.temperature))
    return `temperature ${reading.temperature} is outside ${L.temperature.min}..${L.temperature.max}`;
  if (!within(reading.humidity, L.humidity))
    return `humidity ${reading.humidity} is outside ${L.humidity.min}..${L.humidity.max}`;
  if (!within(reading.battery, L.battery))
    return `battery ${reading.battery} is outside ${L.battery.min}..${L.battery.max}`;
  if (reading.location !== null) {
    if (!within(reading.location.lat, L.latitude))
      return `location.lat ${reading.location.lat} is outside ${L.latitude.min}..${L.latitude.max}`;
    if (!within(reading.location.lon, L.longitude))
      return `location.lon ${reading.location.lon} is outside ${L.longitude.min}..${L.longitude.max}`;
  }
  if (reading.firmware.length > L.firmwareCharacters)
    return `firmware ${quote(reading.firmware)} is longer than ${L.firmwareCharacters} characters`;
  return undefined;
}
