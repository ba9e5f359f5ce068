import { QUARANTINE_REASONS } from '../../domain/telemetry';

/**
 * The Redis layout, defined once: every key, field and byte layout Surge keeps in Redis. The
 * TypeScript writer and readers (state-codec.ts, device-calls.ts, analytics-reader.ts) and the Lua scripts
 * (device-script.ts, stats-script.ts) are all written from these names; the Lua gets them as
 * constants (LUA_LAYOUT), so a field moved here moves in both. docs/redis-layout.md draws it.
 *
 * Binary values are big-endian records in the notation of Redis's Lua `struct` library
 * (binary.ts): `d` a double (IEEE 754: sums stay exact), `B` u8, `H` u16, `Hc0` a u16 length and
 * that many bytes.
 */

/**
 * Every key of a device carries the device id as a hash tag ({id}), so one device's keys share a
 * cluster slot and its update is one atomic script in a clustered Redis too. Device ids match
 * DEVICE_ID_PATTERN (functions/domain/telemetry.ts), so they never contain braces.
 */
export interface KeySpace {
  /** A string: the device's state and its current window bucket (DEVICE_VALUE). Never expires. */
  device(deviceId: string): string;
  /** A sorted set: the starts of the device's archived window buckets (member = score = start). */
  windowIndex(deviceId: string): string;
  /** A string: an archived window bucket (ARCHIVED_BUCKET); expires after its last window. */
  windowBucket(deviceId: string, start: number): string;
  /** A set: every device id seen. */
  readonly devices: string;
  /** A hash: fleet totals (STATS_FIELDS) and their per-partition watermarks. */
  readonly stats: string;
}

export function keySpace(prefix: string): KeySpace {
  return {
    device: (id) => `${prefix}:dev:{${id}}`,
    windowIndex: (id) => `${prefix}:wbs:{${id}}`,
    windowBucket: (id, start) => `${prefix}:wb:{${id}}:${start}`,
    devices: `${prefix}:devices`,
    stats: `${prefix}:stats`,
  };
}

/**
 * The numbers of a device's state, in stored order, with how a delta merges into each. `last`
 * fields follow the reading with the greatest (lastTs, lastOffset).
 */
export const STATE_NUMBERS = [
  ['count', 'sum'],
  ['temperatureMin', 'min'],
  ['temperatureMax', 'max'],
  ['temperatureSum', 'sum'],
  ['humidityMin', 'min'],
  ['humidityMax', 'max'],
  ['humiditySum', 'sum'],
  ['batteryMin', 'min'],
  ['statusOk', 'sum'],
  ['statusWarn', 'sum'],
  ['statusFail', 'sum'],
  ['firstTs', 'min'],
  ['lastTs', 'last'],
  ['lastOffset', 'last'],
] as const;
export type StateNumber = (typeof STATE_NUMBERS)[number][0];

/**
 * The value of a device key, format 3:
 *
 *   B version | STATE_NUMBERS as d | Hc0 last reading (LAST_READING) |
 *   H W, W × (Hc0 topic-partition, d highest offset applied) |
 *   the current bucket, optional: d start, BUCKET.minutes × MINUTE
 *
 * Everything up to the watermarks is the device's *state* (what the script answers and summaries
 * carry); the current bucket is the newest ten minutes the device has windows in, kept in the same
 * key so that a device that reports once per batch costs one key read and one key write.
 * Older buckets are archived under their own keys (ARCHIVED_BUCKET).
 *
 * Format 2 had no current bucket (every bucket archived); format 1 also held the last reading as
 * MessagePack. The script reads both and writes format 3 when it next updates the device.
 */
export const STATE_VERSION = 3;
export const STATE_VERSION_ARCHIVED_ONLY = 2;
export const STATE_VERSION_MESSAGEPACK_LAST = 1;
/** The state up to the watermarks' count, as a struct format (the watermarks follow). */
export const STATE_HEAD_FORMAT = `>B${'d'.repeat(STATE_NUMBERS.length)}Hc0H`;
/** One watermark. */
export const WATERMARK_FORMAT = '>Hc0d';

/**
 * The last reading: ts, temperature, humidity, battery (d); status (B, STATUS_CODES); 1 when it
 * has a location (B), lat and lon (d, 0 without one); firmware (Hc0).
 */
export const LAST_READING_FORMAT = '>ddddBBddHc0';
export const STATUS_CODES = { OK: 0, WARN: 1, FAIL: 2 } as const;

/**
 * Minute windows rest in buckets of ten minutes, each minute MINUTE: five doubles, count,
 * temperature min, max, sum, and when the minute expires (its last update in Redis time plus the
 * TTL, epoch ms); all zero for a minute without readings. Expiry is exact per minute: readers drop
 * a minute past it, and the script starts it afresh.
 */
export const BUCKET = { minutes: 10, stride: 5, count: 0, min: 1, max: 2, sum: 3, expiresAt: 4 } as const;
export const BUCKET_MS = BUCKET.minutes * 60_000;
export const MINUTE_BYTES = BUCKET.stride * 8;
export const BUCKET_MINUTES_BYTES = BUCKET.minutes * MINUTE_BYTES;
/** The current bucket at the end of a device value: d start, then its minutes. */
export const CURRENT_BUCKET_BYTES = 8 + BUCKET_MINUTES_BYTES;
/**
 * An archived bucket (a windowBucket key): d when the key expires (epoch ms), then its minutes.
 * The key expires at most EXPIRY_SLACK after its last minute does, so that its expiry (and the
 * index's) is refreshed once per slack rather than on every update.
 */
export const ARCHIVED_HEADER_BYTES = 8;
export const ARCHIVED_BUCKET_BYTES = ARCHIVED_HEADER_BYTES + BUCKET_MINUTES_BYTES;
/** How late an archived bucket's key may expire after its last minute: a tenth of the TTL, at most 10 minutes. */
export function expirySlackMs(ttlMs: number): number {
  return Math.min(600_000, Math.floor(ttlMs / 10));
}

/**
 * What the device script reads of each device from ARGV[1], one after another: a mode (u8,
 * DEVICE_MODE), then a delta or a merged head.
 *
 * A delta (DEVICE_MODE.delta), which the script merges into the stored value:
 *
 *   H S, S × (Hc0 topic-partition, d min offset, d max offset) |
 *   B 0, STATE_NUMBERS as d, Hc0 last reading      (shaped like a state) |
 *   H N, N × (d bucket start, B M, M × MINUTE_DELTA)   (buckets in ascending start) |
 *   H K, K × d start                                (archived buckets whose keys are declared)
 *
 * KEYS: the device keys of the call's devices, in the order of their deltas; then, for each device
 * with K > 0 in the same order, its window index and the K archived buckets' keys in that order.
 * The script reads every device key with one MGET and writes their new values with one MSET.
 */
export const MINUTE_DELTA_FORMAT = '>Bdddd';

/**
 * A merged head (DEVICE_MODE.merged): the store merged the delta into the head it knows of the
 * device (the stored value but the current bucket's minutes: the state and the bucket's start,
 * known-heads.ts), and the script only checks and splices:
 *
 *   Hc0 the head merged against | Hc0 the new head | B M, M × MINUTE_DELTA (minutes of the current bucket)
 *
 * When the stored value is that head and the current bucket's minutes, the script writes the new head
 * and the minutes with the delta's merged in (on its own clock, as for a delta) and answers MERGED;
 * otherwise it writes nothing of the device and answers STALE.
 */
export const DEVICE_MODE = { delta: 0, merged: 1 } as const;
/** The head of a merged device: the state with its watermarks, then d the current bucket's start. */
export const MERGED_HEAD_FORMAT = '>Hc0Hc0B';
/** A minute of a delta: u8 minute in its bucket, then count, min, max, sum. */
export const MINUTE_DELTA_BYTES = 1 + 4 * 8;

/** The device script's answer per device: a code (u8), then what it carries. */
export const ANSWER = {
  /** u32 length + the state as stored now, then d the start of its current bucket (-1 for none). */
  applied: 0,
  /** As applied (length 0 for no state): every segment was applied before. */
  duplicate: 1,
  /** u16 S + the watermark (d, -1 for none) of each segment: recompute above them. */
  partial: 2,
  /** Hc0 why: the stored values cannot be read; nothing of the device was written. */
  unreadable: 3,
  /** u16 K + K × d start: send the device again with these archived buckets' keys declared. */
  needsKeys: 4,
  /** Nothing follows: the merged head was written; the stored state is the new head's. */
  merged: 5,
  /** Nothing follows: the stored value is not the head merged against; send the device's delta. */
  stale: 6,
} as const;

/**
 * The stats hash: `records` and `q:<reason>` counters, `w:<topic-partition>`, the highest
 * offset applied per partition (a decimal number), under the same watermark rule as a device, and
 * `o:<topic-partition>`, where the partition began for a mapping at LATEST.
 */
export const STATS_FIELDS = {
  records: 'records',
  quarantined: (reason: string) => `q:${reason}`,
  watermark: (topicPartition: string) => `w:${topicPartition}`,
  /**
   * The first offset a mapping that starts at LATEST delivered of the partition (recorded-origins.ts),
   * a decimal number: a batch of a partition without a watermark must start there.
   */
  origin: (topicPartition: string) => `o:${topicPartition}`,
} as const;
/** ARGV per partition of the stats script: topic-partition, min offset, max offset, applied, then one count per reason. */
export const STATS_STRIDE = 4 + QUARANTINE_REASONS.length;

/**
 * The layout as Lua constants, for the scripts to use by name. The state's numbers are Lua locals
 * named after STATE_NUMBERS (d_count for a delta's, c_count for the stored one's; device-script.ts).
 */
export const LUA_LAYOUT = [
  `local STATE_VERSION, ARCHIVED_ONLY, MESSAGEPACK_LAST = ${STATE_VERSION}, ${STATE_VERSION_ARCHIVED_ONLY}, ${STATE_VERSION_MESSAGEPACK_LAST}`,
  `local STATE_HEAD, WATERMARK, LAST_READING = '${STATE_HEAD_FORMAT}', '${WATERMARK_FORMAT}', '${LAST_READING_FORMAT}'`,
  `local STATUS = {OK = ${STATUS_CODES.OK}, WARN = ${STATUS_CODES.WARN}, FAIL = ${STATUS_CODES.FAIL}}`,
  `local MINUTES, MINUTE_BYTES, MINUTES_BYTES = ${BUCKET.minutes}, ${MINUTE_BYTES}, ${BUCKET_MINUTES_BYTES}`,
  `local CURRENT_BYTES, ARCHIVED_HEADER, ARCHIVED_BYTES = ${CURRENT_BUCKET_BYTES}, ${ARCHIVED_HEADER_BYTES}, ${ARCHIVED_BUCKET_BYTES}`,
  `local MINUTE_DELTA, MINUTE_DELTA_BYTES = '${MINUTE_DELTA_FORMAT}', ${MINUTE_DELTA_BYTES}`,
  `local APPLIED, DUPLICATE, PARTIAL, UNREADABLE, NEEDS_KEYS = ${ANSWER.applied}, ${ANSWER.duplicate}, ${ANSWER.partial}, ${ANSWER.unreadable}, ${ANSWER.needsKeys}`,
  `local MERGED, STALE = ${ANSWER.merged}, ${ANSWER.stale}`,
  `local DELTA_MODE, MERGED_MODE, MERGED_HEAD = ${DEVICE_MODE.delta}, ${DEVICE_MODE.merged}, '${MERGED_HEAD_FORMAT}'`,
].join('\n');
