import { decode as decodeMessagePack } from '@msgpack/msgpack';
import { type DeviceDelta, WINDOW_MS, type WindowDelta } from '../../domain/deltas';
import type { DeviceState } from '../../domain/model';
import type { Status } from '../../domain/telemetry';
import { RedisError } from '../errors';
import { BinaryFormatError, BinaryReader, type BinaryWriter } from './binary';
import type { DeltaBuckets } from './delta-buckets';
import {
  BUCKET,
  BUCKET_MINUTES_BYTES,
  CURRENT_BUCKET_BYTES,
  DEVICE_MODE,
  MINUTE_BYTES,
  STATE_NUMBERS,
  STATE_VERSION,
  STATE_VERSION_ARCHIVED_ONLY,
  STATE_VERSION_MESSAGEPACK_LAST,
  STATUS_CODES,
  type StateNumber,
} from './layout';

/**
 * The Redis layout (layout.ts) on the TypeScript side: deltas as the device script reads them,
 * and stored device values and window buckets as readers see them, in every format the script reads.
 */

const READABLE_VERSIONS: readonly number[] = [
  STATE_VERSION,
  STATE_VERSION_ARCHIVED_ONLY,
  STATE_VERSION_MESSAGEPACK_LAST,
];

const STATUS_BY_CODE: readonly Status[] = (Object.keys(STATUS_CODES) as Status[]).sort(
  (a, b) => STATUS_CODES[a] - STATUS_CODES[b],
);

const DELTA_NUMBER: Readonly<Record<StateNumber, (delta: DeviceDelta) => number>> = {
  count: (d) => d.count,
  temperatureMin: (d) => d.temperature.min,
  temperatureMax: (d) => d.temperature.max,
  temperatureSum: (d) => d.temperature.sum,
  humidityMin: (d) => d.humidity.min,
  humidityMax: (d) => d.humidity.max,
  humiditySum: (d) => d.humidity.sum,
  batteryMin: (d) => d.batteryMin,
  statusOk: (d) => d.status.OK,
  statusWarn: (d) => d.status.WARN,
  statusFail: (d) => d.status.FAIL,
  firstTs: (d) => d.firstTs,
  lastTs: (d) => d.lastTs,
  lastOffset: (d) => d.lastOffset,
};
/** The delta's numbers in STATE_NUMBERS order: the order the script reads them in. */
export const DELTA_NUMBERS = STATE_NUMBERS.map(([name]) => DELTA_NUMBER[name]);

/** The last reading in LAST_READING_FORMAT, behind a u16 length. */
export function writeLastReading(out: BinaryWriter, last: DeviceState['last']): void {
  const at = out.beginSized();
  out.f64(last.ts).f64(last.temperature).f64(last.humidity).f64(last.battery).u8(STATUS_CODES[last.status]);
  if (last.location === null) out.u8(0).f64(0).f64(0);
  else out.u8(1).f64(last.location.lat).f64(last.location.lon);
  out.string(last.firmware).endSized(at);
}

function writeBucket(out: BinaryWriter, start: number, minutes: readonly WindowDelta[]): void {
  writeMinutes(out.f64(start), start, minutes);
}

/** A bucket's minutes of a delta (u8 M, M × MINUTE_DELTA), for the bucket that begins at `start`. */
export function writeMinutes(out: BinaryWriter, start: number, minutes: readonly WindowDelta[]): void {
  out.u8(minutes.length);
  for (const w of minutes) {
    out
      .u8((w.start - start) / WINDOW_MS)
      .f64(w.count)
      .f64(w.min)
      .f64(w.max)
      .f64(w.sum);
  }
}

/**
 * Appends a delta in the device script's binary layout (DELTA in layout.ts), declaring the
 * archived buckets `declared` (their keys follow the device key and the window index in KEYS).
 */
export function writeDelta(
  out: BinaryWriter,
  delta: DeviceDelta,
  buckets: DeltaBuckets,
  declared: readonly number[],
): void {
  out.u8(DEVICE_MODE.delta).u16(delta.segments.length);
  for (const segment of delta.segments) {
    out.string(segment.topicPartition).f64(segment.minOffset).f64(segment.maxOffset);
  }
  out.u8(0);
  for (let i = 0; i < DELTA_NUMBERS.length; i++)
    out.f64((DELTA_NUMBERS[i] as (d: DeviceDelta) => number)(delta));
  writeLastReading(out, delta.last);
  if (typeof buckets === 'number') {
    out.u16(1);
    writeBucket(out, buckets, delta.windows);
  } else {
    out.u16(buckets.size);
    for (const [start, minutes] of buckets) writeBucket(out, start, minutes);
  }
  out.u16(declared.length);
  for (const start of declared) out.f64(start);
}

function readLastReading(reader: BinaryReader): DeviceState['last'] {
  const ts = reader.f64();
  const temperature = reader.f64();
  const humidity = reader.f64();
  const battery = reader.f64();
  const status = STATUS_BY_CODE[reader.u8()];
  if (status === undefined) throw new BinaryFormatError('unknown status code');
  const hasLocation = reader.u8() === 1;
  const lat = reader.f64();
  const lon = reader.f64();
  const firmware = reader.string();
  return {
    ts,
    temperature,
    humidity,
    battery,
    status,
    location: hasLocation ? { lat, lon } : null,
    firmware,
  };
}

/** Format 1: [ts, temperature, humidity, battery, status, [lat, lon] or [], firmware] as MessagePack. */
function readMessagePackLastReading(bytes: Buffer): DeviceState['last'] {
  const [ts, temperature, humidity, battery, status, location, firmware] = decodeMessagePack(bytes) as [
    number,
    number,
    number,
    number,
    Status,
    [number, number] | [],
    string,
  ];
  return {
    ts,
    temperature,
    humidity,
    battery,
    status,
    location: location.length === 2 ? { lat: location[0], lon: location[1] } : null,
    firmware,
  };
}

/** Where each number sits in a state: reads go by name, in the order STATE_NUMBERS gives. */
const AT = Object.fromEntries(STATE_NUMBERS.map(([name], i) => [name, i])) as Readonly<
  Record<StateNumber, number>
>;

/**
 * The numbers of the state being read. One array for every read: a fleet batch reads a state per
 * device, and an array each was a tenth of what it allocated. Reads are synchronous, so none overlap.
 */
const numbers = new Float64Array(STATE_NUMBERS.length);

function readDeviceState(deviceId: string, state: BinaryReader): DeviceState {
  const version = state.u8();
  if (!READABLE_VERSIONS.includes(version)) {
    throw new BinaryFormatError(`state format ${version}, expected ${STATE_VERSION}`);
  }
  const n = numbers;
  for (let i = 0; i < n.length; i++) n[i] = state.f64();
  const last =
    version === STATE_VERSION_MESSAGEPACK_LAST
      ? readMessagePackLastReading(state.bytes())
      : readLastReading(state.sub(state.u16()));
  // The watermarks (and the current bucket) that follow are the script's business.
  const count = n[AT.count] as number;
  return {
    deviceId,
    count,
    firstTs: n[AT.firstTs] as number,
    lastTs: n[AT.lastTs] as number,
    temperature: {
      min: n[AT.temperatureMin] as number,
      max: n[AT.temperatureMax] as number,
      mean: (n[AT.temperatureSum] as number) / count,
    },
    humidity: {
      min: n[AT.humidityMin] as number,
      max: n[AT.humidityMax] as number,
      mean: (n[AT.humiditySum] as number) / count,
    },
    battery: { min: n[AT.batteryMin] as number, last: last.battery },
    status: {
      OK: n[AT.statusOk] as number,
      WARN: n[AT.statusWarn] as number,
      FAIL: n[AT.statusFail] as number,
    },
    last,
  };
}

/**
 * A device's stored state (DEVICE_VALUE in layout.ts) as readers see it: the whole of `stored`, or
 * a reader over it (as the device script's answers carry it).
 */
export function parseDeviceState(
  deviceId: string,
  stored: Buffer | BinaryReader | null | undefined,
): DeviceState | undefined {
  if (stored == null) return undefined;
  try {
    return readDeviceState(deviceId, stored instanceof BinaryReader ? stored : new BinaryReader(stored));
  } catch (cause) {
    if (cause instanceof RedisError) throw cause;
    throw new RedisError(`device ${deviceId} has unreadable aggregates: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** A minute of a window bucket as stored (MINUTE in layout.ts). */
export interface StoredMinute {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  readonly expiresAt: number;
}

/** The minutes of a bucket, `BUCKET.minutes` of them, from `at` in `bytes`; a minute without readings has count 0. */
export function readBucketMinutes(bytes: Buffer, at: number): StoredMinute[] {
  if (bytes.length < at + BUCKET_MINUTES_BYTES) throw new BinaryFormatError(`truncated bucket at byte ${at}`);
  const minutes: StoredMinute[] = [];
  for (let minute = 0; minute < BUCKET.minutes; minute++) {
    const from = at + minute * MINUTE_BYTES;
    minutes.push({
      count: bytes.readDoubleBE(from + BUCKET.count * 8),
      min: bytes.readDoubleBE(from + BUCKET.min * 8),
      max: bytes.readDoubleBE(from + BUCKET.max * 8),
      sum: bytes.readDoubleBE(from + BUCKET.sum * 8),
      expiresAt: bytes.readDoubleBE(from + BUCKET.expiresAt * 8),
    });
  }
  return minutes;
}

/** The current bucket of a stored device value (format 3), or undefined when it has none. */
export function currentBucketOf(
  deviceId: string,
  stored: Buffer | null | undefined,
): { readonly start: number; readonly minutes: StoredMinute[] } | undefined {
  if (stored == null) return undefined;
  try {
    const reader = new BinaryReader(stored);
    const version = reader.u8();
    for (let i = 0; i < STATE_NUMBERS.length; i++) reader.f64();
    reader.bytes();
    const watermarks = reader.u16();
    for (let i = 0; i < watermarks; i++) {
      reader.bytes();
      reader.f64();
    }
    const rest = stored.length - reader.at;
    if (rest === 0) return undefined;
    if (version !== STATE_VERSION || rest !== CURRENT_BUCKET_BYTES) {
      throw new BinaryFormatError(`${rest} bytes after the watermarks`);
    }
    return { start: reader.f64(), minutes: readBucketMinutes(stored, reader.at) };
  } catch (cause) {
    throw new RedisError(`device ${deviceId} has an unreadable current bucket: ${(cause as Error).message}`, {
      cause,
    });
  }
}
