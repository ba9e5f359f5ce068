import { topicPartition } from '../shared/msk/event';
import type { AcceptedRecord, Classified } from './decode';
import type { LastReading, QuarantineReason, Status } from './telemetry';

/**
 * Folding a batch into per-device and per-partition deltas: pure functions, no I/O.
 * The store merges a delta into the stored aggregates atomically and exactly once
 * (functions/shared/redis/scripts.ts), so everything here is order-independent:
 * min, max, sums, counts, and "last" chosen by (ts, offset).
 */

export const WINDOW_MS = 60_000;

export interface RangeDelta {
  readonly min: number;
  readonly max: number;
  readonly sum: number;
}

/** The offsets a delta covers in one topic-partition: what makes applying it idempotent. */
export interface OffsetSegment {
  readonly topicPartition: string;
  readonly minOffset: number;
  readonly maxOffset: number;
}

export interface WindowDelta {
  readonly start: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
}

export interface DeviceDelta {
  readonly deviceId: string;
  readonly segments: readonly OffsetSegment[];
  readonly count: number;
  readonly temperature: RangeDelta;
  readonly humidity: RangeDelta;
  readonly batteryMin: number;
  readonly status: Readonly<Record<Status, number>>;
  readonly firstTs: number;
  readonly lastTs: number;
  /** The reading with the greatest (ts, offset). */
  readonly last: LastReading;
  readonly lastOffset: number;
  readonly windows: readonly WindowDelta[];
}

export interface PartitionDelta {
  readonly topicPartition: string;
  readonly minOffset: number;
  readonly maxOffset: number;
  readonly applied: number;
  readonly quarantined: Readonly<Partial<Record<QuarantineReason, number>>>;
}

/** Highest offset already applied, per topic-partition; records at or below it are skipped. */
export type Watermarks = ReadonlyMap<string, number>;

export function windowStart(ts: number): number {
  return Math.floor(ts / WINDOW_MS) * WINDOW_MS;
}

export function groupByDevice(accepted: readonly AcceptedRecord[]): Map<string, AcceptedRecord[]> {
  const groups = new Map<string, AcceptedRecord[]>();
  for (const record of accepted) {
    const group = groups.get(record.reading.deviceId);
    if (group === undefined) groups.set(record.reading.deviceId, [record]);
    else group.push(record);
  }
  return groups;
}

export function groupByPartition(records: readonly Classified[]): Map<string, Classified[]> {
  const groups = new Map<string, Classified[]>();
  for (const record of records) {
    const tp = topicPartition(record.source.topic, record.source.partition);
    const group = groups.get(tp);
    if (group === undefined) groups.set(tp, [record]);
    else group.push(record);
  }
  return groups;
}

function isNewer(candidate: AcceptedRecord, current: AcceptedRecord): boolean {
  const a = candidate.reading.ts;
  const b = current.reading.ts;
  return a > b || (a === b && candidate.source.offset > current.source.offset);
}

/**
 * The delta of one device's records, leaving out those at or below the watermarks.
 * Undefined when nothing is left.
 */
export function deviceDelta(
  deviceId: string,
  records: readonly AcceptedRecord[],
  watermarks?: Watermarks,
): DeviceDelta | undefined {
  let count = 0;
  let tMin = Number.POSITIVE_INFINITY;
  let tMax = Number.NEGATIVE_INFINITY;
  let tSum = 0;
  let hMin = Number.POSITIVE_INFINITY;
  let hMax = Number.NEGATIVE_INFINITY;
  let hSum = 0;
  let bMin = Number.POSITIVE_INFINITY;
  let ok = 0;
  let warn = 0;
  let fail = 0;
  let firstTs = Number.POSITIVE_INFINITY;
  let lastRecord: AcceptedRecord | undefined;
  const segments = new Map<string, { topicPartition: string; minOffset: number; maxOffset: number }>();
  const windows = new Map<number, { start: number; count: number; min: number; max: number; sum: number }>();

  for (const record of records) {
    const { source, reading } = record;
    const tp = topicPartition(source.topic, source.partition);
    const watermark = watermarks?.get(tp);
    if (watermark !== undefined && source.offset <= watermark) continue;

    const segment = segments.get(tp);
    if (segment === undefined)
      segments.set(tp, { topicPartition: tp, minOffset: source.offset, maxOffset: source.offset });
    else {
      if (source.offset < segment.minOffset) segment.minOffset = source.offset;
      if (source.offset > segment.maxOffset) segment.maxOffset = source.offset;
    }

    const { temperature: t, humidity: h, battery: b } = reading;
    count++;
    if (t < tMin) tMin = t;
    if (t > tMax) tMax = t;
    tSum += t;
    if (h < hMin) hMin = h;
    if (h > hMax) hMax = h;
    hSum += h;
    if (b < bMin) bMin = b;
    if (reading.status === 'OK') ok++;
    else if (reading.status === 'WARN') warn++;
    else fail++;
    if (reading.ts < firstTs) firstTs = reading.ts;
    if (lastRecord === undefined || isNewer(record, lastRecord)) lastRecord = record;

    const start = windowStart(reading.ts);
    const window = windows.get(start);
    if (window === undefined) windows.set(start, { start, count: 1, min: t, max: t, sum: t });
    else {
      window.count++;
      if (t < window.min) window.min = t;
      if (t > window.max) window.max = t;
      window.sum += t;
    }
  }
  if (lastRecord === undefined) return undefined;
  const last = lastRecord.reading;
  return {
    deviceId,
    segments: [...segments.values()],
    count,
    temperature: { min: tMin, max: tMax, sum: tSum },
    humidity: { min: hMin, max: hMax, sum: hSum },
    batteryMin: bMin,
    status: { OK: ok, WARN: warn, FAIL: fail },
    firstTs,
    lastTs: last.ts,
    last: {
      ts: last.ts,
      temperature: last.temperature,
      humidity: last.humidity,
      battery: last.battery,
      status: last.status,
      location: last.location === null ? null : { lat: last.location.lat, lon: last.location.lon },
      firmware: last.firmware,
    },
    lastOffset: lastRecord.source.offset,
    windows: [...windows.values()],
  };
}

/**
 * The fleet-total delta of one topic-partition's records (valid and quarantined),
 * leaving out those at or below the watermark. Undefined when nothing is left.
 */
export function partitionDelta(
  tp: string,
  records: readonly Classified[],
  watermark?: number,
): PartitionDelta | undefined {
  let minOffset = Number.POSITIVE_INFINITY;
  let maxOffset = Number.NEGATIVE_INFINITY;
  let applied = 0;
  const quarantined: Partial<Record<QuarantineReason, number>> = {};
  for (const record of records) {
    const offset = record.source.offset;
    if (watermark !== undefined && offset <= watermark) continue;
    if (offset < minOffset) minOffset = offset;
    if (offset > maxOffset) maxOffset = offset;
    if (record.accepted) applied++;
    else quarantined[record.reason] = (quarantined[record.reason] ?? 0) + 1;
  }
  if (minOffset === Number.POSITIVE_INFINITY) return undefined;
  return { topicPartition: tp, minOffset, maxOffset, applied, quarantined };
}
