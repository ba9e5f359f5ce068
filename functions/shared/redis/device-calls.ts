import calculateSlot from 'cluster-key-slot';
import type { DeviceDelta } from '../../domain/deltas';
import { RedisError } from '../errors';
import { BinaryFormatError, BinaryReader, BinaryWriter } from './binary';
import { bucketStarts, bucketsOf, type DeltaBuckets } from './delta-buckets';
import { APPLY_DEVICES_LUA } from './device-script';
import { writeMergedHead } from './head-merge';
import type { KnownHeads } from './known-heads';
import { ANSWER, type KeySpace } from './layout';
import { type Pipeline, type Queued, scriptSha } from './pipeline-executor';
import { writeDelta } from './state-codec';
import { AnsweredStateList, type AnsweredStates } from './state-view';

/**
 * How the device script answered for one device (ANSWER in layout.ts). The state an applied or
 * duplicate device is left in goes to the caller's `onStates` as its call is answered, not into
 * the outcome: a fleet batch's outcomes live until its last call, its states only until their
 * summaries are encoded.
 */
export type DeviceOutcome =
  | { readonly kind: 'applied' | 'duplicate' }
  | { readonly kind: 'partial'; readonly watermarks: ReadonlyMap<string, number> }
  /** The device's stored values cannot be read: nothing of it was written. */
  | { readonly kind: 'unreadable'; readonly error: string };

/** An answer the store handles itself: send the device again with these archived buckets declared. */
export interface NeedsKeys {
  readonly kind: 'needs-keys';
  readonly starts: readonly number[];
}

/** An answer the store handles itself: the head it merged against is not the stored one; send the delta. */
export interface Stale {
  readonly kind: 'stale';
}

export type DeviceAnswer = DeviceOutcome | NeedsKeys | Stale;

const DEVICES_SHA = scriptSha(APPLY_DEVICES_LUA);
const NONE: readonly number[] = [];
const APPLIED: DeviceOutcome = { kind: 'applied' };
const DUPLICATE: DeviceOutcome = { kind: 'duplicate' };
const STALE: Stale = { kind: 'stale' };
const EMPTY = Buffer.alloc(0);

/**
 * Devices per script call. Calls are written one by one as they are built, so Redis works on one
 * while the next is packed; fewer, larger calls cost less per device in ioredis and in the reply.
 */
const DEVICES_PER_CALL = 64;

/** A device of a batch and the archived buckets its call declares. */
export interface DeviceWork {
  readonly delta: DeviceDelta;
  readonly buckets: DeltaBuckets;
  readonly declared: readonly number[];
  /** Sent as a delta even when its head is known: the script found the known head stale. */
  readonly asDelta?: boolean;
}

/**
 * Current buckets remembered per container, at most this many devices: a hint costs about 100 bytes,
 * and a fleet larger than this pays a second call at each rotation for the devices it forgot.
 */
const MAX_HINTS = 200_000;

export interface DeviceCall {
  /** Positions in the work list of the devices this call carries. */
  readonly indices: number[];
  readonly command: Queued;
}

/**
 * The device script's calls for a list of work: on a cluster each call holds devices of one slot
 * (they are spread over slots by their hash tags, so most calls hold one); on a standalone Redis, any.
 */
export class DeviceCalls {
  /** Reused for every call's deltas; each call takes a copy of what it wrote. */
  private readonly writer = new BinaryWriter();
  /**
   * The start of each device's current bucket as its last answer reported it: a hint (another
   * writer may have moved it since, and the script then asks for what it needs), so that the call
   * in which a device's bucket rotates declares the bucket it archives.
   */
  private readonly currentBuckets = new Map<string, number>();

  constructor(
    private readonly keys: KeySpace,
    private readonly windowTtlMs: number,
    private readonly expirySlackMs: number,
    private readonly cluster: boolean,
    /** The heads this container knows, for the devices it merges itself (head-merge.ts); none: every device goes as a delta. */
    private readonly heads?: KnownHeads,
  ) {}

  /**
   * What a device's first call declares. Without a hint, every bucket of the delta but its newest,
   * which goes into the device's current bucket unless the stored one is newer. With the current
   * bucket the device last reported, exactly what the script will archive: late buckets, and the
   * current one when a newer one replaces it.
   */
  firstWork(delta: DeviceDelta): DeviceWork {
    const buckets = bucketsOf(delta.windows);
    const current = this.currentBuckets.get(delta.deviceId);
    if (typeof buckets === 'number') {
      // One bucket: archived only when the stored current bucket is newer, and that current bucket
      // only when this one replaces it.
      if (current === undefined || current === buckets) return { delta, buckets, declared: NONE };
      return { delta, buckets, declared: [Math.min(buckets, current)] };
    }
    const starts = bucketStarts(buckets);
    const newest = starts.at(-1);
    if (current === undefined || newest === undefined)
      return { delta, buckets, declared: starts.slice(0, -1) };
    // As the script will place them: the newest into the current bucket unless that one is newer,
    // every other bucket archived, and a current bucket that a newer one replaces archived too.
    const declared = starts.filter((start) => !(start === newest && newest >= current));
    if (newest > current && !declared.includes(current)) declared.push(current);
    return { delta, buckets, declared };
  }

  /** Learns a device's current bucket from its answer, and its head (bytes `from` to `to` of `answer`). */
  private readonly remember = (
    deviceId: string,
    currentBucket: number,
    answer: Buffer,
    from: number,
    to: number,
  ): void => {
    const hints = this.currentBuckets;
    if (currentBucket >= 0) this.heads?.remember(deviceId, answer, from, to);
    else this.heads?.forget(deviceId);
    if (currentBucket < 0) hints.delete(deviceId);
    else {
      if (hints.size >= MAX_HINTS && !hints.has(deviceId)) hints.clear();
      hints.set(deviceId, currentBucket);
    }
  };

  calls(work: readonly DeviceWork[], deliver: (states: AnsweredStates) => void): DeviceCall[] {
    const groups: number[][] = [];
    if (this.cluster) {
      const bySlot = new Map<number, number[]>();
      work.forEach(({ delta }, i) => {
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
      for (let at = 0; at < work.length; at += DEVICES_PER_CALL) {
        const group: number[] = [];
        for (let i = at; i < Math.min(at + DEVICES_PER_CALL, work.length); i++) group.push(i);
        groups.push(group);
      }
    }
    return groups.map((indices) => ({
      indices,
      command: this.command(
        indices.map((i) => work[i] as DeviceWork),
        deliver,
      ),
    }));
  }

  private command(work: readonly DeviceWork[], deliver: (states: AnsweredStates) => void): Queued {
    const add = (pipeline: Pipeline) => {
      // Every device key first, then each device's window index and declared buckets (KEYS in layout.ts).
      const keys: string[] = work.map(({ delta }) => this.keys.device(delta.deviceId));
      const out = this.writer;
      // Whatever an earlier call that threw midway left in the writer is not this call's.
      out.reset();
      const heads = this.heads;
      merged = [];
      work.forEach(({ delta, buckets, declared, asDelta }, j) => {
        const id = delta.deviceId;
        if (heads !== undefined && asDelta !== true && typeof buckets === 'number' && declared.length === 0) {
          const known = heads.get(id);
          const at = known === undefined ? undefined : writeMergedHead(out, known, delta, buckets);
          if (at !== undefined) {
            merged[j] = at;
            return;
          }
        }
        if (declared.length > 0) {
          keys.push(this.keys.windowIndex(id));
          for (const start of declared) keys.push(this.keys.windowBucket(id, start));
        }
        writeDelta(out, delta, buckets, declared);
      });
      sent = out.take();
      pipeline.callBuffer(
        'evalsha',
        DEVICES_SHA,
        keys.length,
        ...keys,
        sent,
        this.windowTtlMs,
        work.length,
        this.expirySlackMs,
      );
    };
    // What the last `add` sent, and where in it the head of each device it merged lies.
    let sent: Buffer = EMPTY;
    let merged: (readonly [number, number] | undefined)[] = [];
    let delivered = false;
    const parse = (reply: unknown): DeviceAnswer[] => {
      if (!Buffer.isBuffer(reply)) throw new RedisError('the device script answered with no data');
      let answers: DeviceAnswer[];
      const states = new AnsweredStateList();
      try {
        const reader = new BinaryReader(reply);
        answers = work.map(({ delta }, j) => {
          const code = reader.u8();
          const head = merged[j];
          if (code === ANSWER.merged || code === ANSWER.stale) {
            if (head === undefined)
              throw new BinaryFormatError(`answer ${code} for a device sent as a delta`);
            if (code === ANSWER.stale) {
              this.heads?.forget(delta.deviceId);
              return STALE;
            }
            states.add(delta.deviceId, sent, head[0], head[1]);
            this.heads?.remember(delta.deviceId, sent, head[0], head[1]);
            return APPLIED;
          }
          if (head !== undefined) throw new BinaryFormatError(`answer ${code} for a merged device`);
          return readAnswer(code, delta, reader, this.remember, states);
        });
        if (!reader.done) throw new BinaryFormatError('more answers than devices');
      } catch (cause) {
        if (cause instanceof RedisError) throw cause;
        throw new RedisError(`the device script answered unreadably: ${(cause as Error).message}`, { cause });
      }
      // A call sent again (after NOSCRIPT) answers again: its states go out once.
      if (states.size > 0 && !delivered) {
        delivered = true;
        deliver(states);
      }
      return answers;
    };
    return { key: this.keys.device((work[0] as DeviceWork).delta.deviceId), add, parse };
  }
}

/**
 * One device's answer. An applied or duplicate device's state goes into `states`, and `remember`
 * learns where its current bucket starts (-1 for none).
 */
function readAnswer(
  code: number,
  delta: DeviceDelta,
  answer: BinaryReader,
  remember: (deviceId: string, currentBucket: number, answer: Buffer, from: number, to: number) => void,
  states: AnsweredStateList,
): DeviceAnswer {
  switch (code) {
    case ANSWER.unreadable:
      return { kind: 'unreadable', error: answer.string() };
    case ANSWER.needsKeys: {
      const starts: number[] = [];
      for (let n = answer.u16(); n > 0; n--) starts.push(answer.f64());
      return { kind: 'needs-keys', starts };
    }
    case ANSWER.partial: {
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
    case ANSWER.applied:
    case ANSWER.duplicate: {
      const length = answer.u32();
      if (length === 0) throw new RedisError(`device ${delta.deviceId} has no aggregates after its update`);
      const stateAt = answer.at;
      answer.skip(length);
      states.add(delta.deviceId, answer.buffer, stateAt, answer.at);
      // The state and the start that follows it are the device's head, as stored.
      remember(delta.deviceId, answer.f64(), answer.buffer, stateAt, answer.at);
      return code === ANSWER.applied ? APPLIED : DUPLICATE;
    }
    default:
      throw new RedisError(`unexpected answer ${code} from the device script`);
  }
}
