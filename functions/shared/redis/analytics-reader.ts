import { WINDOW_MS } from '../../domain/deltas';
import type { DeviceState, FleetStats, WindowState } from '../../domain/model';
import { QUARANTINE_REASONS, type QuarantineReason } from '../../domain/telemetry';
import { RedisError } from '../errors';
import type { RedisClient } from './clients';
import {
  ARCHIVED_BUCKET_BYTES,
  ARCHIVED_HEADER_BYTES,
  BUCKET_MS,
  type KeySpace,
  keySpace,
  STATS_FIELDS,
} from './layout';
import { pipelineReply, runRedis } from './pipeline-executor';
import { currentBucketOf, parseDeviceState, readBucketMinutes, type StoredMinute } from './state-codec';

/** The query API's port to its store. */
export interface AnalyticsReader {
  device(deviceId: string): Promise<DeviceState | undefined>;
  windows(deviceId: string, from: number, to: number): Promise<WindowState[]>;
  stats(): Promise<FleetStats>;
}

export interface RedisReaderOptions {
  readonly keyPrefix: string;
}

function toNumber(value: string | null | undefined): number {
  return value == null ? 0 : Number(value);
}

/** Reads the aggregates in the layout of layout.ts; never writes (it may run as a read-only user). */
export class RedisAnalyticsReader implements AnalyticsReader {
  protected readonly keys: KeySpace;

  constructor(
    protected readonly redis: RedisClient,
    options: RedisReaderOptions,
  ) {
    this.keys = keySpace(options.keyPrefix);
  }

  async device(deviceId: string): Promise<DeviceState | undefined> {
    const packed = await runRedis(() => this.redis.getBuffer(this.keys.device(deviceId)), 'read a device');
    return parseDeviceState(deviceId, packed);
  }

  /**
   * The device's minute windows in [from, to]: its current bucket (in the device key) and its
   * archived buckets. The device key is read before the index, so a bucket archived in between is
   * found in the index; when a bucket is both, the archived copy is the newer one.
   */
  async windows(deviceId: string, from: number, to: number): Promise<WindowState[]> {
    const head = this.redis.pipeline();
    head.time();
    head.getBuffer(this.keys.device(deviceId));
    // A bucket that starts before `from` may still hold minutes at or after it.
    head.zrangebyscore(this.keys.windowIndex(deviceId), from - BUCKET_MS + 1, to);
    const headReplies = await runRedis(() => head.exec(), 'read a device and its window index');
    // Expiry is judged on Redis's clock, the one the device script stamps updates with.
    const [seconds, micros] = pipelineReply(headReplies, 0) as [string, string];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const current = currentBucketOf(deviceId, pipelineReply(headReplies, 1) as Buffer | null);
    const starts = (pipelineReply(headReplies, 2) as string[]).map(Number);

    const buckets = new Map<number, StoredMinute[]>();
    if (current !== undefined) buckets.set(current.start, current.minutes);
    if (starts.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const start of starts) pipeline.getBuffer(this.keys.windowBucket(deviceId, start));
      const replies = await runRedis(() => pipeline.exec(), 'read windows');
      starts.forEach((start, i) => {
        const packed = pipelineReply(replies, i) as Buffer | null;
        // An expired bucket: the device script drops its index entry (readers never write).
        if (packed == null) return;
        if (packed.length !== ARCHIVED_BUCKET_BYTES) {
          throw new RedisError(`window bucket ${start} of ${deviceId} has ${packed.length} bytes`);
        }
        buckets.set(start, readBucketMinutes(packed, ARCHIVED_HEADER_BYTES));
      });
    }

    const windows: WindowState[] = [];
    for (const [bucketStart, minutes] of buckets) {
      minutes.forEach((minute, i) => {
        const start = bucketStart + i * WINDOW_MS;
        if (minute.count === 0 || start < from || start > to || minute.expiresAt <= now) return;
        windows.push({
          start,
          count: minute.count,
          temperature: { min: minute.min, max: minute.max, mean: minute.sum / minute.count },
        });
      });
    }
    return windows.sort((a, b) => a.start - b.start);
  }

  async stats(): Promise<FleetStats> {
    const [fields, devices] = await runRedis(
      () => Promise.all([this.redis.hgetall(this.keys.stats), this.redis.scard(this.keys.devices)]),
      'read fleet stats',
    );
    const quarantined = Object.fromEntries(
      QUARANTINE_REASONS.map((reason) => [reason, toNumber(fields[STATS_FIELDS.quarantined(reason)])]),
    ) as Record<QuarantineReason, number>;
    return { devices, records: toNumber(fields[STATS_FIELDS.records]), quarantined };
  }
}
