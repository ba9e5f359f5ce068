import type { DeviceDelta, PartitionDelta, Watermarks } from '../domain/deltas';
import { RedisError } from '../shared/errors';
import type { AnalyticsStore, AnsweredStates } from '../shared/redis/analytics-store';

/**
 * Applying a batch's deltas exactly once: the store calls of one batch, the recompute of an
 * overlapping redelivery, and the correction of the fleet totals for an unreadable device.
 */

/** A redelivery can only move the watermarks a bounded number of times; more means a concurrent writer. */
const MAX_STORE_CALLS = 6;

/**
 * The fleet totals count a batch's valid records as applied in the same round trip as the devices
 * (one round trip per batch). When a device's state turns out unreadable, its records are moved to
 * STATE_UNREADABLE by a correction: a delta of its own pseudo-partition, with its own watermark in
 * the stats hash, so that a redelivery corrects nothing twice.
 */
const CORRECTION_PREFIX = 'unreadable:';

export function unreadableCorrection(tp: string, offsets: readonly number[]): PartitionDelta {
  return {
    topicPartition: `${CORRECTION_PREFIX}${tp}`,
    minOffset: Math.min(...offsets),
    maxOffset: Math.max(...offsets),
    applied: -offsets.length,
    quarantined: { STATE_UNREADABLE: offsets.length },
  };
}

/** The source topic-partition a correction delta corrects, or undefined for a real one. */
export function correctedPartition(tp: string): string | undefined {
  return tp.startsWith(CORRECTION_PREFIX) ? tp.slice(CORRECTION_PREFIX.length) : undefined;
}

/** Deltas recomputed from the records above the watermarks a PARTIAL answer reported. */
export interface Recompute {
  device(deviceId: string, watermarks: Watermarks): DeviceDelta | undefined;
  partition(topicPartition: string, watermark: number): PartitionDelta | undefined;
}

export interface Applied {
  readonly records: number;
  readonly storeCalls: number;
}

function emptyDelta(deviceId: string): DeviceDelta {
  // Asks the store for the device's current state without changing it.
  return {
    deviceId,
    segments: [],
    count: 0,
    temperature: { min: 0, max: 0, sum: 0 },
    humidity: { min: 0, max: 0, sum: 0 },
    batteryMin: 0,
    status: { OK: 0, WARN: 0, FAIL: 0 },
    firstTs: 0,
    lastTs: 0,
    last: { ts: 0, temperature: 0, humidity: 0, battery: 0, status: 'OK', location: null, firmware: '' },
    lastOffset: 0,
    windows: [],
  };
}

/**
 * Sends every delta in one store call, the fleet totals with the devices. A delta that overlaps
 * what an earlier delivery applied comes back PARTIAL with the watermarks; it is recomputed from
 * the records above them and sent again, with the corrections of any device found unreadable.
 */
export async function applyExactlyOnce(
  store: AnalyticsStore,
  initialDevices: DeviceDelta[],
  initialPartitions: PartitionDelta[],
  recompute: Recompute,
  onStates: (states: AnsweredStates) => void,
  divert: (deviceId: string, error: string) => PartitionDelta[],
): Promise<Applied> {
  let devices = initialDevices;
  let partitions = initialPartitions;
  let records = 0;
  let storeCalls = 0;
  while (devices.length > 0 || partitions.length > 0) {
    if (storeCalls === MAX_STORE_CALLS) {
      throw new RedisError(
        `watermarks still moving after ${MAX_STORE_CALLS} attempts: is another consumer applying the same partitions?`,
      );
    }
    storeCalls++;
    const result = await store.apply({ devices, partitions }, onStates);
    const retryDevices: DeviceDelta[] = [];
    const next: PartitionDelta[] = [];
    result.devices.forEach((outcome, i) => {
      const delta = devices[i] as DeviceDelta;
      if (outcome.kind === 'partial') {
        retryDevices.push(recompute.device(delta.deviceId, outcome.watermarks) ?? emptyDelta(delta.deviceId));
      } else if (outcome.kind === 'unreadable') {
        next.push(...divert(delta.deviceId, outcome.error));
      } else if (outcome.kind === 'applied') {
        records += delta.count;
      }
    });
    result.partitions.forEach((outcome, i) => {
      if (outcome.kind !== 'partial') return;
      const delta = recompute.partition((partitions[i] as PartitionDelta).topicPartition, outcome.watermark);
      if (delta !== undefined) next.push(delta);
    });
    devices = retryDevices;
    partitions = next;
  }
  return { records, storeCalls };
}
