import calculateSlot from 'cluster-key-slot';
import type { Redis } from 'ioredis';
import { type DeviceDelta, type PartitionDelta, WINDOW_MS } from '../../domain/deltas';
import type { DeviceState, FleetStats, WindowState } from '../../domain/model';
import { QUARANTINE_REASONS, type QuarantineReason } from '../../domain/telemetry';
import { RedisError } from '../errors';
import { BinaryFormatError, BinaryReader, BinaryWriter } from './binary';
import { isCluster, type RedisClient } from './clients';
import { type KeySpace, keySpace } from './keys';
import { type Pipeline, PipelineExecutor, type Queued, runRedis, ScriptsMissing } from './pipeline-executor';
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

// The CommonJS object, not an ES import: see schema-registry.ts (the ES namespace of a built-in costs a cold start).
const { createHash } = process.getBuiltinModule('node:crypto');
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const DEVICES_SHA = sha1(APPLY_DEVICES_LUA);
const STATS_SHA = sha1(APPLY_STATS_LUA);

/**
 * Devices per script call. Calls are written one by one as they are built, so Redis works on one
 * while the next is packed; fewer, larger calls cost less per device in ioredis and in the reply.
 */
const DEVICES_PER_CALL = 64;

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

function toNumber(value: string | null | undefined): number {
  return value == null ? 0 : Number(value);
}

/** Aggregates in Redis: the store of the analytics processor and the reader of the query API. */
export class RedisAnalyticsStore implements AnalyticsStore, AnalyticsReader {
  private readonly keys: KeySpace;
  private readonly windowTtlMs: number;
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;

  private readonly executor: PipelineExecutor;
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
    this.executor = new PipelineExecutor(redis, [APPLY_DEVICES_LUA, APPLY_STATS_LUA]);
    if (this.waitReplicas > 0 && isCluster(redis)) {
      throw new RedisError('WAIT for replicas is for a standalone primary, not a cluster');
    }
  }

  async watermarks(topicPartitions: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (topicPartitions.length === 0) return out;
    const fields = topicPartitions.map((tp) => `w:${tp}`);
    const values = await runRedis(() => this.redis.hmget(this.keys.stats, ...fields), 'read the watermarks');
    topicPartitions.forEach((tp, i) => {
      const value = values[i];
      out.set(tp, value == null ? -1 : Number(value));
    });
    return out;
  }

  async confirmDurable(): Promise<void> {
    if (this.waitReplicas === 0) return;
    // WAIT covers every write this connection made before it: the whole batch.
    const acknowledged = await runRedis(
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
    this.executor.warmUp();
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
      replies = await this.executor.execute(commands, 'apply a batch');
    } catch (error) {
      if (!(error instanceof ScriptsMissing)) throw error;
      // Every script is idempotent, so sending the whole batch again is safe.
      replies = await this.executor.execute(commands, 'apply a batch');
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
    const packed = await runRedis(() => this.redis.getBuffer(this.keys.device(deviceId)), 'read a device');
    return parseDeviceState(deviceId, packed);
  }

  async windows(deviceId: string, from: number, to: number): Promise<WindowState[]> {
    const index = this.keys.windowIndex(deviceId);
    // A bucket that starts before `from` may still hold minutes at or after it.
    const starts = await runRedis(
      () => this.redis.zrangebyscore(index, from - BUCKET_MS + 1, to),
      'read window index',
    );
    if (starts.length === 0) return [];
    const pipeline = this.redis.pipeline();
    pipeline.time();
    for (const start of starts) pipeline.getBuffer(this.keys.windowBucket(deviceId, Number(start)));
    const replies = await runRedis(() => pipeline.exec(), 'read windows');
    // Expiry is judged on Redis's clock, the one the device script stamps updates with.
    const [seconds, micros] = this.executor.reply(replies, 0) as [string, string];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const windows: WindowState[] = [];
    starts.forEach((bucketStart, i) => {
      const packed = this.executor.reply(replies, i + 1) as Buffer | null;
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
    const [fields, devices] = await runRedis(
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
}
