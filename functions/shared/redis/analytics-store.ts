import { Redis, type RedisOptions } from 'ioredis';
import type { DeviceDelta, PartitionDelta } from '../../analytics/aggregate';
import { QUARANTINE_REASONS, type QuarantineReason } from '../../analytics/telemetry';
import { RedisError } from '../errors';
import type { DeviceState, FleetStats, WindowState } from '../model';
import { type KeySpace, keySpace } from './keys';
import { APPLIED, APPLY_DEVICE_LUA, APPLY_STATS_LUA, DEVICE_FIELDS, DUPLICATE, PARTIAL } from './scripts';

export type DeviceOutcome =
  | { readonly kind: 'applied' | 'duplicate'; readonly state: DeviceState }
  | { readonly kind: 'partial'; readonly watermarks: ReadonlyMap<string, number> };

export type PartitionOutcome =
  | { readonly kind: 'applied' | 'duplicate' }
  | { readonly kind: 'partial'; readonly watermark: number };

export interface ApplyPlan {
  readonly devices: readonly DeviceDelta[];
  readonly partitions: readonly PartitionDelta[];
}

export interface ApplyResult {
  readonly devices: readonly DeviceOutcome[];
  readonly partitions: readonly PartitionOutcome[];
}

/** The analytics processor's port to its store: one call, one round trip. */
export interface AnalyticsStore {
  apply(plan: ApplyPlan): Promise<ApplyResult>;
}

/** The query API's port to its store. */
export interface AnalyticsReader {
  device(deviceId: string): Promise<DeviceState | undefined>;
  windows(deviceId: string, from: number, to: number): Promise<WindowState[]>;
  stats(): Promise<FleetStats>;
}

type ScriptCaller = (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;
type WithScripts = { surgeApplyDevice: ScriptCaller; surgeApplyStats: ScriptCaller };

export interface RedisStoreOptions {
  readonly keyPrefix: string;
  /** How long a minute window lives after its last update. */
  readonly windowTtlSeconds: number;
}

/**
 * Connection settings for a Lambda: fail fast (a few retries, short timeouts) so that an
 * unreachable Redis becomes an error the event source mapping retries, not a hung invocation.
 */
export function createRedisClient(url: string, overrides: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    ...overrides,
  });
  // Connection errors reach the caller as rejected commands (wrapped in RedisError); without a
  // listener ioredis would also print each reconnect attempt as an unhandled error event.
  client.on('error', () => undefined);
  return client;
}

function toNumber(value: string | null | undefined): number {
  return value == null ? 0 : Number(value);
}

/** A device hash's fields, in DEVICE_FIELDS order, as the state readers see. */
export function parseDeviceState(
  deviceId: string,
  values: readonly (string | null)[],
): DeviceState | undefined {
  const [n, tmin, tmax, tsum, hmin, hmax, hsum, bmin, ok, warn, fail, fts, lts, , last] = values;
  if (n == null || last == null) return undefined;
  const count = Number(n);
  const lastReading = JSON.parse(last) as DeviceState['last'];
  return {
    deviceId,
    count,
    firstTs: toNumber(fts),
    lastTs: toNumber(lts),
    temperature: { min: toNumber(tmin), max: toNumber(tmax), mean: toNumber(tsum) / count },
    humidity: { min: toNumber(hmin), max: toNumber(hmax), mean: toNumber(hsum) / count },
    battery: { min: toNumber(bmin), last: lastReading.battery },
    status: { OK: toNumber(ok), WARN: toNumber(warn), FAIL: toNumber(fail) },
    last: lastReading,
  };
}

/** Aggregates in Redis: the store of the analytics processor and the reader of the query API. */
export class RedisAnalyticsStore implements AnalyticsStore, AnalyticsReader {
  private readonly keys: KeySpace;
  private readonly windowTtlMs: number;

  constructor(
    private readonly redis: Redis,
    options: RedisStoreOptions,
  ) {
    this.keys = keySpace(options.keyPrefix);
    this.windowTtlMs = Math.round(options.windowTtlSeconds * 1000);
    redis.defineCommand('surgeApplyDevice', { lua: APPLY_DEVICE_LUA });
    redis.defineCommand('surgeApplyStats', { lua: APPLY_STATS_LUA });
  }

  async apply(plan: ApplyPlan): Promise<ApplyResult> {
    const pipeline = this.redis.pipeline() as unknown as ReturnType<Redis['pipeline']> & WithScripts;
    for (const delta of plan.devices) this.queueDevice(pipeline, delta);
    if (plan.partitions.length > 0)
      pipeline.surgeApplyStats(1, this.keys.stats, ...this.statsArgs(plan.partitions));
    if (plan.devices.length > 0) pipeline.sadd(this.keys.devices, ...plan.devices.map((d) => d.deviceId));

    const replies = await this.run(() => pipeline.exec(), 'apply a batch');
    const devices = plan.devices.map((delta, i) => this.deviceOutcome(delta, this.reply(replies, i)));
    const partitions =
      plan.partitions.length === 0
        ? []
        : (this.reply(replies, plan.devices.length) as (string | null)[]).map(
            (answer): PartitionOutcome =>
              answer === 'A'
                ? { kind: 'applied' }
                : answer === 'D'
                  ? { kind: 'duplicate' }
                  : { kind: 'partial', watermark: Number(answer) },
          );
    return { devices, partitions };
  }

  async device(deviceId: string): Promise<DeviceState | undefined> {
    const values = await this.run(
      () => this.redis.hmget(this.keys.device(deviceId), ...DEVICE_FIELDS),
      'read a device',
    );
    return parseDeviceState(deviceId, values);
  }

  async windows(deviceId: string, from: number, to: number): Promise<WindowState[]> {
    const index = this.keys.windowIndex(deviceId);
    const starts = await this.run(() => this.redis.zrangebyscore(index, from, to), 'read window index');
    if (starts.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const start of starts)
      pipeline.hmget(this.keys.window(deviceId, Number(start)), 'c', 'mn', 'mx', 's');
    const replies = await this.run(() => pipeline.exec(), 'read windows');
    const windows: WindowState[] = [];
    const expired: string[] = [];
    starts.forEach((start, i) => {
      const [c, mn, mx, s] = this.reply(replies, i) as (string | null)[];
      if (c == null) {
        expired.push(start);
        return;
      }
      const count = Number(c);
      windows.push({
        start: Number(start),
        count,
        temperature: { min: toNumber(mn), max: toNumber(mx), mean: toNumber(s) / count },
      });
    });
    // Windows expire on their own; their index entries are dropped when a reader meets them.
    if (expired.length > 0) await this.run(() => this.redis.zrem(index, ...expired), 'prune window index');
    return windows.sort((a, b) => a.start - b.start);
  }

  async stats(): Promise<FleetStats> {
    const [fields, devices] = await this.run(
      () => Promise.all([this.redis.hgetall(this.keys.stats), this.redis.scard(this.keys.devices)]),
      'read fleet stats',
    );
    const quarantined = Object.fromEntries(
      QUARANTINE_REASONS.map((reason) => [reason, toNumber(fields[`q:${reason}`])]),
    ) as Record<QuarantineReason, number>;
    return { devices, records: toNumber(fields.records), quarantined };
  }

  private queueDevice(pipeline: WithScripts, delta: DeviceDelta): void {
    const id = delta.deviceId;
    const keys = [this.keys.device(id), this.keys.windowIndex(id)];
    const args: (string | number)[] = [delta.segments.length];
    for (const s of delta.segments) args.push(s.topicPartition, s.minOffset, s.maxOffset);
    args.push(
      delta.count,
      delta.temperature.min,
      delta.temperature.max,
      delta.temperature.sum,
      delta.humidity.min,
      delta.humidity.max,
      delta.humidity.sum,
      delta.batteryMin,
      delta.status.OK,
      delta.status.WARN,
      delta.status.FAIL,
      delta.firstTs,
      delta.lastTs,
      delta.lastOffset,
      JSON.stringify(delta.last),
      this.windowTtlMs,
      delta.windows.length,
    );
    for (const w of delta.windows) {
      keys.push(this.keys.window(id, w.start));
      args.push(w.start, w.count, w.min, w.max, w.sum);
    }
    pipeline.surgeApplyDevice(keys.length, ...keys, ...args);
  }

  private statsArgs(partitions: readonly PartitionDelta[]): (string | number)[] {
    const args: (string | number)[] = [partitions.length];
    for (const p of partitions) {
      args.push(p.topicPartition, p.minOffset, p.maxOffset, p.applied);
      for (const reason of QUARANTINE_REASONS) args.push(p.quarantined[reason] ?? 0);
    }
    return args;
  }

  private deviceOutcome(delta: DeviceDelta, reply: unknown): DeviceOutcome {
    const [code, ...rest] = reply as [number, ...(string | null)[]];
    if (code === PARTIAL) {
      return {
        kind: 'partial',
        watermarks: new Map(delta.segments.map((s, i) => [s.topicPartition, Number(rest[i] ?? -1)])),
      };
    }
    const state = parseDeviceState(delta.deviceId, rest);
    if (state === undefined)
      throw new RedisError(`device ${delta.deviceId} has no aggregates after its update`);
    if (code !== APPLIED && code !== DUPLICATE)
      throw new RedisError(`unexpected answer ${code} from the device script`);
    return { kind: code === APPLIED ? 'applied' : 'duplicate', state };
  }

  private reply(replies: [Error | null, unknown][] | null, index: number): unknown {
    const entry = replies?.[index];
    if (entry === undefined) throw new RedisError(`Redis pipeline returned no reply ${index}`);
    if (entry[0]) throw new RedisError(`Redis command failed: ${entry[0].message}`, { cause: entry[0] });
    return entry[1];
  }

  private async run<T>(operation: () => Promise<T>, what: string): Promise<T> {
    try {
      return await operation();
    } catch (cause) {
      if (cause instanceof RedisError) throw cause;
      throw new RedisError(`Redis failed to ${what}: ${(cause as Error).message}`, { cause });
    }
  }
}
