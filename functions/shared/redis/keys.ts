/**
 * Redis key layout. Every key of a device carries the device id as a hash tag ({id}), so one
 * device's keys share a cluster slot and its update can be one atomic script in a clustered Redis.
 * Device ids match ^[A-Za-z0-9._:-]{1,128}$, so they never contain braces.
 */
export interface KeySpace {
  /** Hash of the device's aggregates and its per-partition watermarks. */
  device(deviceId: string): string;
  /** Sorted set of the device's window starts (score = start). */
  windowIndex(deviceId: string): string;
  /** Hash of one minute window: c (count), mn, mx, s (temperature sum). */
  window(deviceId: string, start: number): string;
  /** Set of every device id seen. */
  readonly devices: string;
  /** Hash of fleet totals and their per-partition watermarks. */
  readonly stats: string;
}

export function keySpace(prefix: string): KeySpace {
  return {
    device: (id) => `${prefix}:dev:{${id}}`,
    windowIndex: (id) => `${prefix}:wins:{${id}}`,
    window: (id, start) => `${prefix}:win:{${id}}:${start}`,
    devices: `${prefix}:devices`,
    stats: `${prefix}:stats`,
  };
}
