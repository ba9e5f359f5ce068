import calculateSlot from 'cluster-key-slot';
import { type ChainableCommander, Cluster, Redis, type RedisOptions } from 'ioredis';
import { type DeviceDelta, type PartitionDelta, WINDOW_MS } from '../../domain/deltas';
import type { DeviceState, FleetStats, WindowState } from '../../domain/model';
import { QUARANTINE_REASONS, type QuarantineReason } from '../../domain/telemetry';
import { RedisError } from '../errors';
import { BinaryFormatError, BinaryReader, BinaryWriter } from './binary';
import { type KeySpace, keySpace } from './keys';
import {
  APPLIED,
  APPLY_DEVICES_LUA,
  APPLY_STATS_LUA,
  BUCKET,
  BUCKET_BYTES,
  BUCKET_HEADER_BYTES,
  BUCKET_MS,
  DUPLICATE,
  expirySlackMs,
  MINUTE_BYTES,
  PARTIAL,
  UNREADABLE,
} from './scripts';
import { bucketsOf, parseDeviceState, writeDelta } from './state-codec';

export { parseDeviceState } from './state-codec';

export type DeviceOutcome =
  | { readonly kind: 'applied' | 'duplicate'; readonly state: DeviceState }
  | { readonly kind: 'partial'; readonly watermarks: ReadonlyMap<string, number> }
  /** The device's stored state cannot be read: nothing of it was written. */
  | { readonly kind: 'unreadable'; readonly error: string };

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
  /**
   * Applies the plan. `onStates` receives device states as soon as a part of the batch has been
   * applied (or found applied already), so their summaries can be published while the rest runs.
   */
  apply(plan: ApplyPlan, onStates?: (states: DeviceState[]) => void): Promise<ApplyResult>;
  /** The fleet watermark of each topic-partition (-1 for none): where the store says each one stands. */
  watermarks(topicPartitions: readonly string[]): Promise<Map<string, number>>;
  /**
   * Resolves once every write acknowledged so far is as durable as the store is configured to
   * make it (replicas acknowledged under WAIT); rejects when it is not.
   */
  confirmDurable(): Promise<void>;
}

/** The query API's port to its store. */
export interface AnalyticsReader {
  device(deviceId: string): Promise<DeviceState | undefined>;
  windows(deviceId: string, from: number, to: number): Promise<WindowState[]>;
  stats(): Promise<FleetStats>;
}

type Pipeline = ChainableCommander;

/** A standalone Redis (replication group, cluster mode disabled) or a Redis Cluster (ElastiCache Serverless). */
export type RedisClient = Redis | Cluster;

// The CommonJS object, not an ES import: see schema-registry.ts (the ES namespace of a built-in costs a cold start).
const { createHash } = process.getBuiltinModule('node:crypto');
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const DEVICES_SHA = sha1(APPLY_DEVICES_LUA);
const STATS_SHA = sha1(APPLY_STATS_LUA);

/** Redis lost the scripts (restart, failover): load them and send the batch again. */
class ScriptsMissing extends Error {}

/** Attempts at a batch's commands while a cluster keeps redirecting them (a reshard, a failover). */
const MAX_REDIRECTS = 6;

/** A cluster node's answer that the command belongs elsewhere, for now or for good. */
class Redirect {
  private static readonly PATTERN = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b(?: \d+ (\S+))?/;

  private constructor(
    readonly kind: string,
    readonly address: string | undefined,
    readonly index = -1,
  ) {}

  static of(message: string): Redirect | undefined {
    const m = Redirect.PATTERN.exec(message);
    return m === null ? undefined : new Redirect(m[1] as string, m[2]);
  }

  withIndex(index: number): Redirect {
    return new Redirect(this.kind, this.address, index);
  }
}

/**
 * Devices per script call. Calls are written one by one as they are built, so Redis works on one
 * while the next is packed; fewer, larger calls cost less per device in ioredis and in the reply.
 */
const DEVICES_PER_CALL = 64;

function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}

/** A command of a batch, with the key that decides which cluster node runs it. */
interface Queued {
  readonly key: string;
  add(pipeline: Pipeline): void;
  /** Turns the reply into its outcome as soon as the command has answered. */
  parse?(reply: unknown): unknown;
}

export interface RedisStoreOptions {
  readonly keyPrefix: string;
  /** How long a minute window lives after its last update. */
  readonly windowTtlSeconds: number;
  /**
   * Replicas that must acknowledge a batch's writes (`WAIT`) before it counts as applied; 0 for none.
   * @default 0
   */
  readonly waitReplicas?: number;
  /** How long `WAIT` waits for them. @default 1000 */
  readonly waitTimeoutMs?: number;
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

/** Aggregates in Redis: the store of the analytics processor and the reader of the query API. */
export class RedisAnalyticsStore implements AnalyticsStore, AnalyticsReader {
  private readonly keys: KeySpace;
  private readonly windowTtlMs: number;
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;

  /** Connections known to hold the scripts; a (re)connection may not, so 'ready' forgets it. */
  private readonly loaded = new WeakSet<Redis>();
  private readonly watched = new WeakSet<Redis>();
  private clusterConnecting: Promise<void> | undefined;
  /** Reused for every call's deltas; each call takes a copy of what it wrote. */
  private readonly writer = new BinaryWriter();

  constructor(
    private readonly redis: RedisClient,
    options: RedisStoreOptions,
  ) {
    this.keys = keySpace(options.keyPrefix);
    this.windowTtlMs = Math.round(options.windowTtlSeconds * 1000);
    this.waitReplicas = options.waitReplicas ?? 0;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 1_000;
    if (this.waitReplicas > 0 && isCluster(redis)) {
      throw new RedisError('WAIT for replicas is for a standalone primary, not a cluster');
    }
  }

  async watermarks(topicPartitions: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (topicPartitions.length === 0) return out;
    const fields = topicPartitions.map((tp) => `w:${tp}`);
    const values = await this.run(() => this.redis.hmget(this.keys.stats, ...fields), 'read the watermarks');
    topicPartitions.forEach((tp, i) => {
      const value = values[i];
      out.set(tp, value == null ? -1 : Number(value));
    });
    return out;
  }

  async confirmDurable(): Promise<void> {
    if (this.waitReplicas === 0) return;
    // WAIT covers every write this connection made before it: the whole batch.
    const acknowledged = await this.run(
      () => (this.redis as Redis).wait(this.waitReplicas, this.waitTimeoutMs),
      'wait for replicas',
    );
    if (acknowledged < this.waitReplicas) {
      throw new RedisError(
        `${acknowledged} of ${this.waitReplicas} replicas acknowledged the batch within ${this.waitTimeoutMs} ms: not durable, not acknowledged`,
      );
    }
  }

  /**
   * Connects and loads the scripts ahead of the first batch (a cold start decodes its batch
   * meanwhile). A failure here is reported by the first real command, which connects again.
   */
  warmUp(): void {
    const redis = this.redis;
    if (isCluster(redis)) {
      if (redis.status === 'wait') {
        this.clusterConnecting = redis.connect();
        this.clusterConnecting.catch(() => undefined);
      }
      return;
    }
    const load = async () => {
      if (redis.status === 'wait') await redis.connect();
      this.watch(redis);
      await Promise.all([redis.script('LOAD', APPLY_DEVICES_LUA), redis.script('LOAD', APPLY_STATS_LUA)]);
      this.loaded.add(redis);
    };
    load().catch(() => undefined);
  }

  async apply(plan: ApplyPlan, onStates?: (states: DeviceState[]) => void): Promise<ApplyResult> {
    // A resend after NOSCRIPT answers again for the calls that had gone through: deliver each state once.
    const delivered = new Set<string>();
    const deliver = (states: DeviceState[]) => {
      if (onStates === undefined) return;
      const fresh = states.filter((state) => !delivered.has(state.deviceId));
      for (const state of fresh) delivered.add(state.deviceId);
      if (fresh.length > 0) onStates(fresh);
    };
    const calls = this.deviceCalls(plan.devices, deliver);
    const commands: Queued[] = calls.map((call) => call.command);
    if (plan.partitions.length > 0) {
      const args = this.statsArgs(plan.partitions);
      commands.push({ key: this.keys.stats, add: (p) => p.evalsha(STATS_SHA, 1, this.keys.stats, ...args) });
    }
    if (plan.devices.length > 0) {
      const ids = plan.devices.map((d) => d.deviceId);
      commands.push({ key: this.keys.devices, add: (p) => p.sadd(this.keys.devices, ...ids) });
    }

    let replies: unknown[];
    try {
      replies = await this.execute(commands, 'apply a batch');
    } catch (error) {
      if (!(error instanceof ScriptsMissing)) throw error;
      // Every script is idempotent, so sending the whole batch again is safe.
      replies = await this.execute(commands, 'apply a batch');
    }
    const devices: DeviceOutcome[] = new Array(plan.devices.length);
    calls.forEach((call, c) => {
      const outcomes = replies[c] as DeviceOutcome[];
      call.indices.forEach((deviceIndex, j) => {
        devices[deviceIndex] = outcomes[j] as DeviceOutcome;
      });
    });
    const partitions =
      plan.partitions.length === 0
        ? []
        : (replies[calls.length] as (string | null)[]).map(
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
    const packed = await this.run(() => this.redis.getBuffer(this.keys.device(deviceId)), 'read a device');
    return parseDeviceState(deviceId, packed);
  }

  async windows(deviceId: string, from: number, to: number): Promise<WindowState[]> {
    const index = this.keys.windowIndex(deviceId);
    // A bucket that starts before `from` may still hold minutes at or after it.
    const starts = await this.run(
      () => this.redis.zrangebyscore(index, from - BUCKET_MS + 1, to),
      'read window index',
    );
    if (starts.length === 0) return [];
    const pipeline = this.redis.pipeline();
    pipeline.time();
    for (const start of starts) pipeline.getBuffer(this.keys.windowBucket(deviceId, Number(start)));
    const replies = await this.run(() => pipeline.exec(), 'read windows');
    // Expiry is judged on Redis's clock, the one the device script stamps updates with.
    const [seconds, micros] = this.reply(replies, 0) as [string, string];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const windows: WindowState[] = [];
    starts.forEach((bucketStart, i) => {
      const packed = this.reply(replies, i + 1) as Buffer | null;
      // An expired bucket: the device script drops its index entry (readers never write).
      if (packed == null) return;
      if (packed.length !== BUCKET_BYTES) {
        throw new RedisError(`window bucket ${bucketStart} of ${deviceId} has ${packed.length} bytes`);
      }
      for (let minute = 0; minute < BUCKET.minutes; minute++) {
        const at = BUCKET_HEADER_BYTES + minute * MINUTE_BYTES;
        const count = packed.readDoubleBE(at + BUCKET.count * 8);
        const start = Number(bucketStart) + minute * WINDOW_MS;
        if (count === 0 || start < from || start > to) continue;
        if (packed.readDoubleBE(at + BUCKET.expiresAt * 8) <= now) continue;
        windows.push({
          start,
          count,
          temperature: {
            min: packed.readDoubleBE(at + BUCKET.min * 8),
            max: packed.readDoubleBE(at + BUCKET.max * 8),
            mean: packed.readDoubleBE(at + BUCKET.sum * 8) / count,
          },
        });
      }
    });
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
   * one pipeline per node that owns some of the commands' slots, all in parallel. A cluster that
   * moved a slot (MOVED), is moving it (ASK, TRYAGAIN) or is failing over (CLUSTERDOWN) gets the
   * commands it refused again, on the node it names or after the slot map is refreshed: every
   * script is idempotent, so a command sent twice applies once.
   */
  private async execute(commands: readonly Queued[], what: string): Promise<unknown[]> {
    const redis = this.redis;
    if (!isCluster(redis)) return this.executeOn(redis, commands, what);
    await this.run(async () => {
      // After a failed warm-up the status is back to 'wait' or 'end', and this connects again.
      await this.clusterConnecting?.catch(() => undefined);
      this.clusterConnecting = undefined;
      if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
    }, 'connect to the cluster');
    const out: unknown[] = new Array(commands.length);
    let pending = commands.map((_, i) => i);
    for (let attempt = 1; ; attempt++) {
      const masters = new Map(
        redis.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]),
      );
      const byNode = new Map<Redis, number[]>();
      for (const i of pending) {
        const owner = redis.slots[calculateSlot((commands[i] as Queued).key)]?.[0];
        const node = owner === undefined ? undefined : masters.get(owner);
        if (node === undefined) throw new RedisError(`no cluster node owns the slot of ${commands[i]?.key}`);
        const indices = byNode.get(node);
        if (indices === undefined) byNode.set(node, [i]);
        else indices.push(i);
      }
      const again: number[] = [];
      const settle = (index: number, reply: unknown, asked?: Redirect[]) => {
        if (!(reply instanceof Redirect)) out[index] = reply;
        else if (asked && reply.kind === 'ASK' && reply.address !== undefined && masters.has(reply.address))
          asked.push(reply.withIndex(index));
        else again.push(index);
      };
      const asked: Redirect[] = [];
      await Promise.all(
        [...byNode].map(async ([node, indices]) => {
          const replies = await this.executeOn(
            node,
            indices.map((i) => commands[i] as Queued),
            what,
          );
          indices.forEach((index, j) => {
            settle(index, replies[j], asked);
          });
        }),
      );
      // ASK: the slot is migrating and these keys are already on the importing node.
      await Promise.all(
        asked.map(async (redirect) => {
          const node = masters.get(redirect.address as string) as Redis;
          const [reply] = await this.executeOn(node, [commands[redirect.index] as Queued], what, true);
          settle(redirect.index, reply);
        }),
      );
      if (again.length === 0) return out;
      if (attempt === MAX_REDIRECTS) {
        throw new RedisError(
          `the cluster still redirected ${again.length} commands after ${attempt} attempts`,
        );
      }
      await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 25 * attempt));
      pending = again;
    }
  }

  /**
   * One connection's share of a batch, each command written as soon as it is built with no wait in
   * between: Redis executes the first on its own core while this one packs the next. Still a
   * single wait for replies. The scripts ride along on a connection's first batch. A cluster
   * node's redirection comes back as a Redirect for `execute` to follow.
   */
  private async executeOn(
    client: Redis,
    commands: readonly Queued[],
    what: string,
    asking = false,
  ): Promise<unknown[]> {
    this.watch(client);
    const preload = this.loaded.has(client) ? 0 : 2;
    const pending: Promise<unknown>[] = [];
    let missing = false;
    commands.forEach((command, i) => {
      const pipeline = client.pipeline();
      let skip = i === 0 ? preload : 0;
      if (skip > 0) pipeline.script('LOAD', APPLY_DEVICES_LUA).script('LOAD', APPLY_STATS_LUA);
      if (asking) {
        pipeline.asking();
        skip++;
      }
      command.add(pipeline);
      // Each reply is turned into outcomes while Redis still works on the next commands.
      pending.push(
        this.run(() => pipeline.exec(), what).then((replies) => {
          if (replies?.some(([error]) => error?.message.startsWith('NOSCRIPT'))) {
            missing = true;
            return undefined;
          }
          const failed = replies?.[skip]?.[0];
          const redirect = failed ? Redirect.of(failed.message) : undefined;
          if (redirect !== undefined && this.redis.isCluster) return redirect;
          const reply = this.reply(replies, skip);
          return command.parse ? command.parse(reply) : reply;
        }),
      );
    });
    const values = await Promise.all(pending);
    if (missing) {
      this.loaded.delete(client);
      throw new ScriptsMissing('Redis has lost the scripts');
    }
    if (preload > 0) this.loaded.add(client);
    return values;
  }

  /**
   * The device deltas as script calls: on a cluster each call holds devices of one slot (they are
   * spread over slots by their hash tags, so most calls hold one); on a standalone Redis, any.
   */
  private deviceCalls(
    devices: readonly DeviceDelta[],
    deliver: (states: DeviceState[]) => void,
  ): { indices: number[]; command: Queued }[] {
    const groups: number[][] = [];
    if (isCluster(this.redis)) {
      const bySlot = new Map<number, number[]>();
      devices.forEach((delta, i) => {
        const slot = calculateSlot(this.keys.device(delta.deviceId));
        const group = bySlot.get(slot);
        if (group === undefined) bySlot.set(slot, [i]);
        else group.push(i);
      });
      for (const group of bySlot.values()) {
        for (let at = 0; at < group.length; at += DEVICES_PER_CALL) {
          groups.push(group.slice(at, at + DEVICES_PER_CALL));
        }
      }
    } else {
      for (let at = 0; at < devices.length; at += DEVICES_PER_CALL) {
        const group: number[] = [];
        for (let i = at; i < Math.min(at + DEVICES_PER_CALL, devices.length); i++) group.push(i);
        groups.push(group);
      }
    }
    return groups.map((indices) => ({
      indices,
      command: this.devicesCommand(
        indices.map((i) => devices[i] as DeviceDelta),
        deliver,
      ),
    }));
  }

  private devicesCommand(deltas: readonly DeviceDelta[], deliver: (states: DeviceState[]) => void): Queued {
    const ttl = this.windowTtlMs;
    const add = (pipeline: Pipeline) => {
      const keys: string[] = [];
      const out = this.writer;
      // Whatever an earlier call that threw midway left in the writer is not this call's.
      out.reset();
      for (const delta of deltas) {
        const id = delta.deviceId;
        const buckets = bucketsOf(delta.windows);
        // The script reads the state and the buckets in one MGET, so they come first.
        keys.push(this.keys.device(id));
        for (const start of buckets.keys()) keys.push(this.keys.windowBucket(id, start));
        keys.push(this.keys.windowIndex(id));
        writeDelta(out, delta, buckets);
      }
      pipeline.callBuffer(
        'evalsha',
        DEVICES_SHA,
        keys.length,
        ...keys,
        out.take(),
        ttl,
        deltas.length,
        expirySlackMs(ttl),
      );
    };
    const parse = (reply: unknown): DeviceOutcome[] => {
      if (!Buffer.isBuffer(reply)) throw new RedisError('the device script answered with no data');
      let outcomes: DeviceOutcome[];
      try {
        const answer = new BinaryReader(reply);
        outcomes = deltas.map((delta) => this.deviceOutcome(delta, answer));
        if (!answer.done) throw new BinaryFormatError('more answers than devices');
      } catch (cause) {
        if (cause instanceof RedisError) throw cause;
        throw new RedisError(`the device script answered unreadably: ${(cause as Error).message}`, { cause });
      }
      const states: DeviceState[] = [];
      for (const outcome of outcomes) {
        if (outcome.kind === 'applied' || outcome.kind === 'duplicate') states.push(outcome.state);
      }
      if (states.length > 0) deliver(states);
      return outcomes;
    };
    return { key: this.keys.device((deltas[0] as DeviceDelta).deviceId), add, parse };
  }

  /** A (re)connection may have lost the scripts: forget that this one holds them. */
  private watch(client: Redis): void {
    if (this.watched.has(client)) return;
    this.watched.add(client);
    client.on('ready', () => this.loaded.delete(client));
  }

  private statsArgs(partitions: readonly PartitionDelta[]): (string | number)[] {
    const args: (string | number)[] = [partitions.length];
    for (const p of partitions) {
      args.push(p.topicPartition, p.minOffset, p.maxOffset, p.applied);
      for (const reason of QUARANTINE_REASONS) args.push(p.quarantined[reason] ?? 0);
    }
    return args;
  }

  private deviceOutcome(delta: DeviceDelta, answer: BinaryReader): DeviceOutcome {
    const code = answer.u8();
    if (code === UNREADABLE) return { kind: 'unreadable', error: answer.string() };
    if (code === PARTIAL) {
      const segments = answer.u16();
      if (segments !== delta.segments.length) {
        throw new RedisError(
          `device ${delta.deviceId}: ${segments} watermarks for ${delta.segments.length} segments`,
        );
      }
      const watermarks = new Map<string, number>();
      for (const segment of delta.segments) watermarks.set(segment.topicPartition, answer.f64());
      return { kind: 'partial', watermarks };
    }
    if (code !== APPLIED && code !== DUPLICATE) {
      throw new RedisError(`unexpected answer ${code} from the device script`);
    }
    const length = answer.u32();
    if (length === 0) throw new RedisError(`device ${delta.deviceId} has no aggregates after its update`);
    const state = parseDeviceState(delta.deviceId, answer.slice(length)) as DeviceState;
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
