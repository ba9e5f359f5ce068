import calculateSlot from 'cluster-key-slot';
import { type ChainableCommander, Cluster, Redis, type RedisOptions } from 'ioredis';
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

type ScriptCaller = (numKeys: number, ...args: (string | number)[]) => unknown;
type Pipeline = ChainableCommander & { surgeApplyDevice: ScriptCaller; surgeApplyStats: ScriptCaller };

/** A standalone Redis (replication group, cluster mode disabled) or a Redis Cluster (ElastiCache Serverless). */
export type RedisClient = Redis | Cluster;

function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}

/** A command of a batch, with the key that decides which cluster node runs it. */
interface Queued {
  readonly key: string;
  add(pipeline: Pipeline): void;
}

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

/**
 * A cluster-aware client for cluster-mode caches. TLS endpoints of ElastiCache present certificates
 * for their DNS names, hence the lookup that keeps names as they are.
 */
export function createRedisCluster(url: string, overrides: RedisOptions = {}): Cluster {
  const parsed = new URL(url);
  const tls = parsed.protocol === 'rediss:';
  const client = new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], {
    lazyConnect: true,
    slotsRefreshTimeout: 2_000,
    clusterRetryStrategy: (attempt) => (attempt > 3 ? null : attempt * 100),
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: {
      connectTimeout: 2_000,
      commandTimeout: 5_000,
      maxRetriesPerRequest: 2,
      username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
      ...(tls ? { tls: {} } : {}),
      ...overrides,
    },
  });
  client.on('error', () => undefined);
  return client;
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

  private readonly scripted = new WeakSet<Redis | Cluster>();

  constructor(
    private readonly redis: RedisClient,
    options: RedisStoreOptions,
  ) {
    this.keys = keySpace(options.keyPrefix);
    this.windowTtlMs = Math.round(options.windowTtlSeconds * 1000);
    this.defineScripts(redis);
  }

  async apply(plan: ApplyPlan): Promise<ApplyResult> {
    const commands: Queued[] = plan.devices.map((delta) => this.deviceCommand(delta));
    if (plan.partitions.length > 0) {
      const args = this.statsArgs(plan.partitions);
      commands.push({ key: this.keys.stats, add: (p) => p.surgeApplyStats(1, this.keys.stats, ...args) });
    }
    if (plan.devices.length > 0) {
      const ids = plan.devices.map((d) => d.deviceId);
      commands.push({ key: this.keys.devices, add: (p) => p.sadd(this.keys.devices, ...ids) });
    }

    const replies = await this.execute(commands, 'apply a batch');
    const devices = plan.devices.map((delta, i) => this.deviceOutcome(delta, replies[i]));
    const partitions =
      plan.partitions.length === 0
        ? []
        : (replies[plan.devices.length] as (string | null)[]).map(
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

  /**
   * Runs a batch's commands in one round trip: one pipeline on a standalone Redis; on a cluster,
   * one pipeline per node that owns some of the commands' slots, all in parallel.
   */
  private async execute(commands: readonly Queued[], what: string): Promise<unknown[]> {
    const redis = this.redis;
    if (!isCluster(redis)) {
      const pipeline = redis.pipeline() as Pipeline;
      for (const command of commands) command.add(pipeline);
      const replies = await this.run(() => pipeline.exec(), what);
      return commands.map((_, i) => this.reply(replies, i));
    }
    await this.run(async () => {
      if (redis.status === 'wait') await redis.connect();
    }, 'connect to the cluster');
    const byNode = new Map<Redis, number[]>();
    const masters = new Map(
      redis.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]),
    );
    commands.forEach((command, i) => {
      const owner = redis.slots[calculateSlot(command.key)]?.[0];
      const node = owner === undefined ? undefined : masters.get(owner);
      if (node === undefined) throw new RedisError(`no cluster node owns the slot of ${command.key}`);
      const indices = byNode.get(node);
      if (indices === undefined) byNode.set(node, [i]);
      else indices.push(i);
    });
    const out: unknown[] = new Array(commands.length);
    await Promise.all(
      [...byNode].map(async ([node, indices]) => {
        this.defineScripts(node);
        const pipeline = node.pipeline() as Pipeline;
        for (const i of indices) commands[i]?.add(pipeline);
        const replies = await this.run(() => pipeline.exec(), what);
        indices.forEach((commandIndex, j) => {
          out[commandIndex] = this.reply(replies, j);
        });
      }),
    );
    return out;
  }

  private defineScripts(client: Redis | Cluster): void {
    if (this.scripted.has(client)) return;
    client.defineCommand('surgeApplyDevice', { lua: APPLY_DEVICE_LUA });
    client.defineCommand('surgeApplyStats', { lua: APPLY_STATS_LUA });
    this.scripted.add(client);
  }

  private deviceCommand(delta: DeviceDelta): Queued {
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
    return { key: keys[0] as string, add: (p) => p.surgeApplyDevice(keys.length, ...keys, ...args) };
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
