import type { Redis } from 'ioredis';
import type { DeviceDelta, PartitionDelta } from '../../domain/deltas';
import { QUARANTINE_REASONS } from '../../domain/telemetry';
import { RedisError } from '../errors';
import { RedisAnalyticsReader } from './analytics-reader';
import { isCluster, type RedisClient } from './clients';
import { type DeviceAnswer, DeviceCalls, type DeviceOutcome, type DeviceWork } from './device-calls';
import { APPLY_DEVICES_LUA } from './device-script';
import { KnownHeads } from './known-heads';
import { expirySlackMs } from './layout';
import { PipelineExecutor, type Queued, runRedis, ScriptsMissing, scriptSha } from './pipeline-executor';
import type { AnsweredStates } from './state-view';
import { APPLY_STATS_LUA } from './stats-script';

export type { AnalyticsReader } from './analytics-reader';
export type { DeviceOutcome } from './device-calls';
export { parseDeviceState } from './state-codec';
export type { AnsweredStates } from './state-view';
export { decodedStates, StateView } from './state-view';

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
   * applied (or found applied already), so their summaries can be published while the rest runs;
   * each is read where the store's answer holds it (state-view.ts).
   */
  apply(plan: ApplyPlan, onStates?: (states: AnsweredStates) => void): Promise<ApplyResult>;
  /** The fleet watermark of each topic-partition (-1 for none): where the store says each one stands. */
  watermarks(topicPartitions: readonly string[]): Promise<Map<string, number>>;
  /**
   * Resolves once every write acknowledged so far is as durable as the store is configured to
   * make it (replicas acknowledged under WAIT); rejects when it is not.
   */
  confirmDurable(): Promise<void>;
}

const STATS_SHA = scriptSha(APPLY_STATS_LUA);

/**
 * Rounds of a device whose script keeps asking for other archived buckets: each answer names the
 * buckets the stored state needs, so only a concurrent writer moving it again needs a third.
 */
const MAX_KEY_ROUNDS = 4;

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
  /**
   * Merge a device whose stored head this container knows on the client, so that Redis only checks
   * the head and splices the minutes (head-merge.ts, known-heads.ts); off sends every device as a
   * delta for the script to merge, as before (the escape hatch: REDIS_MERGE_KNOWN_HEADS=false).
   * @default true
   */
  readonly mergeKnownHeads?: boolean;
  /**
   * The devices whose heads this container keeps for that merge (REDIS_KNOWN_HEADS_MAX).
   * @default MAX_KNOWN_HEADS (known-heads.ts)
   */
  readonly knownHeadsMax?: number;
}

/**
 * Aggregates in Redis: the store of the analytics processor (the writer: apply) and, through
 * RedisAnalyticsReader, the reader of the query API.
 */
export class RedisAnalyticsStore extends RedisAnalyticsReader implements AnalyticsStore {
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;
  private readonly executor: PipelineExecutor;
  private readonly deviceCalls: DeviceCalls;

  constructor(redis: RedisClient, options: RedisStoreOptions) {
    super(redis, options);
    const windowTtlMs = Math.round(options.windowTtlSeconds * 1000);
    this.waitReplicas = options.waitReplicas ?? 0;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 1_000;
    this.executor = new PipelineExecutor(redis, [APPLY_DEVICES_LUA, APPLY_STATS_LUA]);
    this.deviceCalls = new DeviceCalls(
      this.keys,
      windowTtlMs,
      expirySlackMs(windowTtlMs),
      isCluster(redis),
      options.mergeKnownHeads === false ? undefined : new KnownHeads(options.knownHeadsMax),
    );
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

  async apply(plan: ApplyPlan, onStates?: (states: AnsweredStates) => void): Promise<ApplyResult> {
    // Each call delivers its states once (device-calls.ts), and a device that asked for keys is in
    // the next round's calls only: every state is delivered once.
    const deliver = onStates ?? (() => undefined);
    let work = plan.devices.map((delta) => this.deviceCalls.firstWork(delta));
    let positions = plan.devices.map((_, i) => i);
    const calls = this.deviceCalls.calls(work, deliver);
    const commands: Queued[] = calls.map((call) => call.command);
    if (plan.partitions.length > 0) {
      const args = this.statsArgs(plan.partitions);
      commands.push({ key: this.keys.stats, add: (p) => p.evalsha(STATS_SHA, 1, this.keys.stats, ...args) });
    }
    if (plan.devices.length > 0) {
      const ids = plan.devices.map((d) => d.deviceId);
      commands.push({ key: this.keys.devices, add: (p) => p.sadd(this.keys.devices, ...ids) });
    }

    const devices: DeviceOutcome[] = new Array(plan.devices.length);
    let replies = await this.execute(commands);
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
    let round = calls;
    for (let attempt = 1; ; attempt++) {
      const again: DeviceWork[] = [];
      const againAt: number[] = [];
      round.forEach((call, c) => {
        const answers = replies[c] as DeviceAnswer[];
        call.indices.forEach((i, j) => {
          const answer = answers[j] as DeviceAnswer;
          const at = positions[i] as number;
          const previous = work[i] as DeviceWork;
          if (answer.kind === 'needs-keys') {
            again.push({ ...previous, declared: [...new Set([...previous.declared, ...answer.starts])] });
          } else if (answer.kind === 'stale') {
            // Another writer moved the device since this container saw it: the script merges the delta.
            again.push({ ...previous, asDelta: true });
          } else {
            devices[at] = answer;
            return;
          }
          againAt.push(at);
        });
      });
      if (again.length === 0) break;
      if (attempt === MAX_KEY_ROUNDS) {
        throw new RedisError(
          `device ${again[0]?.delta.deviceId} still asked for other window buckets after ${attempt} calls`,
        );
      }
      work = again;
      positions = againAt;
      round = this.deviceCalls.calls(work, deliver);
      replies = await this.execute(round.map((call) => call.command));
    }
    return { devices, partitions };
  }

  /** Every script is idempotent, so sending the whole list again after NOSCRIPT is safe. */
  private async execute(commands: readonly Queued[]): Promise<unknown[]> {
    try {
      return await this.executor.execute(commands, 'apply a batch');
    } catch (error) {
      if (!(error instanceof ScriptsMissing)) throw error;
      return this.executor.execute(commands, 'apply a batch');
    }
  }

  private statsArgs(partitions: readonly PartitionDelta[]): (string | number)[] {
    const args: (string | number)[] = [partitions.length];
    for (const p of partitions) {
      args.push(p.topicPartition, p.minOffset, p.maxOffset, p.applied);
      for (const reason of QUARANTINE_REASONS) args.push(p.quarantined[reason] ?? 0);
    }
    return args;
  }
}
