import type { LastReading, QuarantineReason, Status } from './telemetry';

/**
 * What a batch adds to the aggregates: the per-device and per-partition deltas the analytics
 * function folds (functions/analytics/aggregate.ts) and the store merges exactly once
 * (functions/shared/redis/), and the window arithmetic both follow. Pure types and functions.
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
