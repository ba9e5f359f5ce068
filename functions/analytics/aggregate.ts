import { type DeviceDelta, type PartitionDelta, type Watermarks, windowStart } from '../domain/deltas';
import type { LastReading, QuarantineReason, Telemetry } from '../domain/telemetry';
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

/** Nothing read yet: the `last` of an accumulator before its first reading. */
const NO_READING: LastReading = {
  ts: 0,
  temperature: 0,
  humidity: 0,
  battery: 0,
  status: 'OK',
  location: null,
  firmware: '',
};

/**
 * Folds one device's readings as they come, in any order: the processor feeds it during its single
 * pass over a batch, so no reading has to be kept until the batch is grouped. It is its own delta:
 * a fleet batch holds one per device until the store has answered, so a copy of each was a tenth
 * of what the batch allocated and kept (docs/performance.md, session 11).
 */
export class DeviceAccumulator implements DeviceDelta {
  count = 0;
  readonly temperature = { min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY, sum: 0 };
  readonly humidity = { min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY, sum: 0 };
  batteryMin = Number.POSITIVE_INFINITY;
  readonly status = { OK: 0, WARN: 0, FAIL: 0 };
  firstTs = Number.POSITIVE_INFINITY;
  lastTs = Number.NEGATIVE_INFINITY;
  /** The reading with the greatest (ts, offset), as decoded (its device id is this accumulator's). */
  last: LastReading = NO_READING;
  lastOffset = -1;
  readonly segments: MutableSegment[] = [];
  readonly windows: MutableWindow[] = [];
  // A device's readings mostly come from one partition and in time order: the segment and window
  // of the previous reading usually take the next one too, without a lookup. The maps that find the
  // others are built once there is a second: most devices of a large fleet have one reading per
  // batch, and two maps each were a tenth of what a fleet batch allocated. (Private fields, so that
  // the delta's own properties are the delta's.)
  #lastSegment: MutableSegment | undefined;
  #lastWindow: MutableWindow | undefined;
  #segmentOf: Map<string, MutableSegment> | undefined;
  #windowOf: Map<number, MutableWindow> | undefined;

  constructor(readonly deviceId: string) {}

  /** Adds a reading read at `offset` of `topicPartition`. */
  add(reading: Telemetry, topicPartition: string, offset: number): void {
    let segment = this.#lastSegment;
    if (segment === undefined || segment.topicPartition !== topicPartition) {
      // Without a map there is at most one segment, the previous reading's, and it did not match.
      segment = this.#segmentOf?.get(topicPartition);
      if (segment === undefined) {
        segment = { topicPartition, minOffset: offset, maxOffset: offset };
        this.segments.push(segment);
        if (this.#segmentOf !== undefined) this.#segmentOf.set(topicPartition, segment);
        else if (this.segments.length > 1)
          this.#segmentOf = new Map(this.segments.map((s) => [s.topicPartition, s]));
      }
      this.#lastSegment = segment;
    }
    if (offset < segment.minOffset) segment.minOffset = offset;
    if (offset > segment.maxOffset) segment.maxOffset = offset;

    const { temperature: t, humidity: h, battery: b, ts } = reading;
    this.count++;
    const temperature = this.temperature;
    if (t < temperature.min) temperature.min = t;
    if (t > temperature.max) temperature.max = t;
    temperature.sum += t;
    const humidity = this.humidity;
    if (h < humidity.min) humidity.min = h;
    if (h > humidity.max) humidity.max = h;
    humidity.sum += h;
    if (b < this.batteryMin) this.batteryMin = b;
    this.status[reading.status]++;
    if (ts < this.firstTs) this.firstTs = ts;
    // The last reading is the one with the greatest (ts, offset): independent of delivery order.
    if (this.count === 1 || ts > this.lastTs || (ts === this.lastTs && offset > this.lastOffset)) {
      this.last = reading;
      this.lastTs = ts;
      this.lastOffset = offset;
    }

    const start = windowStart(ts);
    let window = this.#lastWindow;
    if (window === undefined || window.start !== start) {
      window = this.#windowOf?.get(start);
      if (window === undefined) {
        window = { start, count: 0, min: t, max: t, sum: 0 };
        this.windows.push(window);
        if (this.#windowOf !== undefined) this.#windowOf.set(start, window);
        else if (this.windows.length > 1) this.#windowOf = new Map(this.windows.map((w) => [w.start, w]));
      }
      this.#lastWindow = window;
    }
    window.count++;
    if (t < window.min) window.min = t;
    if (t > window.max) window.max = t;
    window.sum += t;
  }

  /** The delta of what was added (this accumulator: add nothing after); undefined when nothing was. */
  delta(): DeviceDelta | undefined {
    return this.count === 0 ? undefined : this;
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
