import { type DeviceDelta, type PartitionDelta, type Watermarks, windowStart } from '../domain/deltas';
import type { QuarantineReason, Telemetry } from '../domain/telemetry';
import { topicPartition } from '../shared/msk/event';
import type { AcceptedRecord, Classified } from './decode';

/**
 * Folding a batch into per-device and per-partition deltas: pure functions, no I/O.
 * The store merges a delta into the stored aggregates atomically and exactly once
 * (functions/shared/redis/device-script.ts), so everything here is order-independent:
 * min, max, sums, counts, and "last" chosen by (ts, offset).
 */

interface MutableSegment {
  readonly topicPartition: string;
  minOffset: number;
  maxOffset: number;
}

interface MutableWindow {
  start: number;
  count: number;
  min: number;
  max: number;
  sum: number;
}

/**
 * Folds one device's readings as they come, in any order: the processor feeds it during its single
 * pass over a batch, so no reading has to be kept until the batch is grouped.
 */
export class DeviceAccumulator {
  private count = 0;
  private tMin = Number.POSITIVE_INFINITY;
  private tMax = Number.NEGATIVE_INFINITY;
  private tSum = 0;
  private hMin = Number.POSITIVE_INFINITY;
  private hMax = Number.NEGATIVE_INFINITY;
  private hSum = 0;
  private bMin = Number.POSITIVE_INFINITY;
  private ok = 0;
  private warn = 0;
  private fail = 0;
  private firstTs = Number.POSITIVE_INFINITY;
  private last: Telemetry | undefined;
  private lastOffset = -1;
  private readonly segments: MutableSegment[] = [];
  private readonly windows: MutableWindow[] = [];
  // A device's readings mostly come from one partition and in time order: the segment and window
  // of the previous reading usually take the next one too, without a lookup. The maps that find the
  // others are built once there is a second: most devices of a large fleet have one reading per
  // batch, and two maps each were a tenth of what a fleet batch allocated.
  private lastSegment: MutableSegment | undefined;
  private lastWindow: MutableWindow | undefined;
  private segmentOf: Map<string, MutableSegment> | undefined;
  private windowOf: Map<number, MutableWindow> | undefined;

  constructor(readonly deviceId: string) {}

  /** Adds a reading read at `offset` of `topicPartition`. */
  add(reading: Telemetry, topicPartition: string, offset: number): void {
    let segment = this.lastSegment;
    if (segment === undefined || segment.topicPartition !== topicPartition) {
      // Without a map there is at most one segment, the previous reading's, and it did not match.
      segment = this.segmentOf?.get(topicPartition);
      if (segment === undefined) {
        segment = { topicPartition, minOffset: offset, maxOffset: offset };
        this.segments.push(segment);
        if (this.segmentOf !== undefined) this.segmentOf.set(topicPartition, segment);
        else if (this.segments.length > 1)
          this.segmentOf = new Map(this.segments.map((s) => [s.topicPartition, s]));
      }
      this.lastSegment = segment;
    }
    if (offset < segment.minOffset) segment.minOffset = offset;
    if (offset > segment.maxOffset) segment.maxOffset = offset;

    const { temperature: t, humidity: h, battery: b, ts } = reading;
    this.count++;
    if (t < this.tMin) this.tMin = t;
    if (t > this.tMax) this.tMax = t;
    this.tSum += t;
    if (h < this.hMin) this.hMin = h;
    if (h > this.hMax) this.hMax = h;
    this.hSum += h;
    if (b < this.bMin) this.bMin = b;
    if (reading.status === 'OK') this.ok++;
    else if (reading.status === 'WARN') this.warn++;
    else this.fail++;
    if (ts < this.firstTs) this.firstTs = ts;
    // The last reading is the one with the greatest (ts, offset): independent of delivery order.
    const last = this.last;
    if (last === undefined || ts > last.ts || (ts === last.ts && offset > this.lastOffset)) {
      this.last = reading;
      this.lastOffset = offset;
    }

    const start = windowStart(ts);
    let window = this.lastWindow;
    if (window === undefined || window.start !== start) {
      window = this.windowOf?.get(start);
      if (window === undefined) {
        window = { start, count: 0, min: t, max: t, sum: 0 };
        this.windows.push(window);
        if (this.windowOf !== undefined) this.windowOf.set(start, window);
        else if (this.windows.length > 1) this.windowOf = new Map(this.windows.map((w) => [w.start, w]));
      }
      this.lastWindow = window;
    }
    window.count++;
    if (t < window.min) window.min = t;
    if (t > window.max) window.max = t;
    window.sum += t;
  }

  /** The delta of what was added; undefined when nothing was. */
  delta(): DeviceDelta | undefined {
    const last = this.last;
    if (last === undefined) return undefined;
    return {
      deviceId: this.deviceId,
      segments: this.segments.slice(),
      count: this.count,
      temperature: { min: this.tMin, max: this.tMax, sum: this.tSum },
      humidity: { min: this.hMin, max: this.hMax, sum: this.hSum },
      batteryMin: this.bMin,
      status: { OK: this.ok, WARN: this.warn, FAIL: this.fail },
      firstTs: this.firstTs,
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
      lastOffset: this.lastOffset,
      windows: this.windows.slice(),
    };
  }
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
  const accumulator = new DeviceAccumulator(deviceId);
  for (const { source, reading } of records) {
    const tp = topicPartition(source.topic, source.partition);
    const watermark = watermarks?.get(tp);
    if (watermark !== undefined && source.offset <= watermark) continue;
    accumulator.add(reading, tp, source.offset);
  }
  return accumulator.delta();
}

/** Fleet totals of one topic-partition's records, folded as they come. */
export class PartitionAccumulator {
  private minOffset = Number.POSITIVE_INFINITY;
  private maxOffset = Number.NEGATIVE_INFINITY;
  private applied = 0;
  private readonly quarantined: Partial<Record<QuarantineReason, number>> = {};

  constructor(readonly topicPartition: string) {}

  /** Adds a record at `offset`: valid, or quarantined for `reason`. */
  add(offset: number, reason?: QuarantineReason): void {
    if (offset < this.minOffset) this.minOffset = offset;
    if (offset > this.maxOffset) this.maxOffset = offset;
    if (reason === undefined) this.applied++;
    else this.quarantined[reason] = (this.quarantined[reason] ?? 0) + 1;
  }

  delta(): PartitionDelta | undefined {
    if (this.minOffset === Number.POSITIVE_INFINITY) return undefined;
    return {
      topicPartition: this.topicPartition,
      minOffset: this.minOffset,
      maxOffset: this.maxOffset,
      applied: this.applied,
      quarantined: { ...this.quarantined },
    };
  }
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
  const accumulator = new PartitionAccumulator(tp);
  for (const record of records) {
    const offset = record.source.offset;
    if (watermark !== undefined && offset <= watermark) continue;
    accumulator.add(offset, record.accepted ? undefined : record.reason);
  }
  return accumulator.delta();
}
