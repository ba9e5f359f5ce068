/**
 * Redis key layout. Every key of a device carries the device id as a hash tag ({id}), so one
 * device's keys share a cluster slot and its update can be one atomic script in a clustered Redis.
 * Device ids match ^[A-Za-z0-9._:-]{1,128}$, so they never contain braces.
 */
export interface KeySpace {
  /** The device's aggregates and per-partition watermarks, packed (see STATE in scripts.ts). */
  device(deviceId: string): string;
  /** Sorted set of the starts of the device's window buckets (score = start). */
  windowIndex(deviceId: string): string;
  /** Ten minute windows, packed (see BUCKET in scripts.ts); expires its TTL after its last update. */
  windowBucket(deviceId: string, start: number): string;
  /** Set of every device id seen. */
  readonly devices: string;
  /** Hash of fleet totals and their per-partition watermarks. */
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
