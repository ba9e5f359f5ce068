import type { WindowDelta } from '../../domain/deltas';
import { BUCKET_MS } from './layout';

/**
 * A delta's minute windows by the bucket (BUCKET in layout.ts) they rest in, in ascending start.
 * Windows that all rest in one bucket (nearly every delta of a large fleet) are that bucket's start:
 * a map and a list per device were a twentieth of what a fleet batch allocated.
 */
export type DeltaBuckets = number | ReadonlyMap<number, readonly WindowDelta[]>;

function bucketStart(ts: number): number {
  return Math.floor(ts / BUCKET_MS) * BUCKET_MS;
}

export function bucketsOf(windows: readonly WindowDelta[]): DeltaBuckets {
  const first = windows[0];
  if (first !== undefined) {
    const start = bucketStart(first.start);
    let one = true;
    for (let i = 1; i < windows.length && one; i++)
      one = bucketStart((windows[i] as WindowDelta).start) === start;
    if (one) return start;
  }
  const byStart = new Map<number, WindowDelta[]>();
  let ascending = true;
  let previous = -Infinity;
  for (const w of windows) {
    const start = bucketStart(w.start);
    const bucket = byStart.get(start);
    if (bucket === undefined) {
      if (start < previous) ascending = false;
      previous = start;
      byStart.set(start, [w]);
    } else bucket.push(w);
  }
  return ascending ? byStart : new Map([...byStart].sort(([a], [b]) => a - b));
}

/** The starts of a delta's buckets, ascending. */
export function bucketStarts(buckets: DeltaBuckets): number[] {
  return typeof buckets === 'number' ? [buckets] : [...buckets.keys()];
}
