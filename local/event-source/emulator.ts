import { randomUUID } from 'node:crypto';
import type { Context, MSKEvent, MSKRecord } from 'aws-lambda';
import { type Consumer, type IHeaders, Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { registerKafkaCodecs } from '../../functions/shared/kafka/codecs';
import { buildMskEvent, toMskRecord } from '../msk-event';
import { batchVerdict } from './batch-response';

/**
 * An emulator of the Lambda MSK event source mapping, for running the real handler locally, as
 * AWS's Lambda Developer Guide describes the mapping (the README's fidelity table lists each
 * behaviour, what AWS does, what this does, and the test):
 * - one consumer group; the starting position for a group without committed offsets; records of
 *   every codec (gzip, snappy, LZ4, zstd);
 * - a batch closes on the batch size, the batching window or the 6 MB event payload (keys, values
 *   and headers counted as the event carries them); it may hold records of several partitions,
 *   each in offset order; a record that alone passes 6 MB cannot be delivered
 *   (`MaximumPayloadSizeExceeded`);
 * - one batch in flight per partition, at most `maxConcurrency` invocations at once;
 * - no record older than the maximum record age is delivered: it goes to the failure destination;
 * - offsets are committed once records succeed (at-least-once). A failed batch is retried as the
 *   same records while later records of its partitions wait; bisect splits it in two and retries
 *   each half separately; a partial batch response commits, per partition, the records before the
 *   lowest reported failure, and an identifier that names no record of the batch fails it whole;
 * - retries -1 with a failure destination stop after 10, as AWS caps them;
 * - whatever the handler returns or throws, the emulator goes on; only a failure of its own
 *   (the consumer, a commit, the failure destination) stops it, and `failure` says why.
 * Where AWS documents nothing (the retry backoff, whether bisecting uses a retry), the choice is
 * an option. What it does not do: kill a timed-out handler (its promise is abandoned).
 */

export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** AWS's cap on retries when they are -1 (infinite) and the mapping has a failure destination. */
export const RETRIES_WITH_DESTINATION_CAP = 10;
/** The event around its records: eventSource, ARN, bootstrap servers. */
const EVENT_OVERHEAD_BYTES = 512;
/** A record's fields beside key, value and headers, and its "topic-partition" share. */
const RECORD_OVERHEAD_BYTES = 160;
const COMMIT_LOG_SIZE = 10_000;

export type BatchHandler = (event: MSKEvent, context: Context) => Promise<unknown>;

export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded' | 'MaximumPayloadSizeExceeded';

export interface FailedBatch {
  readonly topic: string;
  /** The records given up on, per partition, each in offset order. */
  readonly partitions: readonly { readonly partition: number; readonly records: readonly KafkaMessage[] }[];
  /** Invocations of these records (0 when they were never delivered). */
  readonly attempts: number;
  readonly error: string;
  /** Why they were given up on, named as AWS's failure documents name it. */
  readonly condition: FailureCondition;
  /** Records of the invocation they were in, and its payload: AWS's KafkaBatchInfo. */
  readonly batchSize: number;
  readonly payloadBytes: number;
}

/** Headers as the mapping puts them in an event: every value of a repeated name, bytes as they are. */
export function eventHeaders(headers: IHeaders | undefined): Record<string, Buffer | string>[] {
  const list: Record<string, Buffer | string>[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined) list.push({ [name]: item as Buffer | string });
    }
  }
  return list;
}

/** A consumed message as the mapping puts it in an event. */
export function eventRecordOf(topic: string, partition: number, m: KafkaMessage): MSKRecord {
  return toMskRecord(
    {
      topic,
      partition,
      offset: Number(m.offset),
      timestamp: Number(m.timestamp),
      key: m.key,
      value: m.value,
      headers: eventHeaders(m.headers),
    },
    topic,
  );
}

/** What a message adds to an event's JSON: base64 key and value, headers as arrays of byte values. */
export function eventBytes(message: KafkaMessage): number {
  let bytes = RECORD_OVERHEAD_BYTES;
  bytes += Math.ceil((message.key?.length ?? 0) / 3) * 4 + Math.ceil((message.value?.length ?? 0) / 3) * 4;
  for (const header of eventHeaders(message.headers)) {
    for (const [name, value] of Object.entries(header)) {
      // "name":[b,b,b] with up to three digits and a comma per byte.
      bytes += name.length + 8 + Buffer.byteLength(value) * 4;
    }
  }
  return bytes;
}

export interface EmulatorOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly consumerGroupId: string;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly maxConcurrency: number;
  /** -1: infinite, or 10 with a failure destination (as AWS caps it). */
  readonly retryAttempts: number;
  /** -1: no limit. */
  readonly maxRecordAgeMs: number;
  readonly bisectBatchOnError: boolean;
  readonly reportBatchItemFailures: boolean;
  readonly timeoutMs: number;
  readonly handler: BatchHandler;
  /** The failure destination. @default - none: records given up on are logged and skipped */
  readonly onFailure?: (batch: FailedBatch) => Promise<void>;
  /**
   * Partitions one invocation may carry. AWS combines the partitions a poller reads in one event.
   * @default - as many as have records ready, up to the batch size
   */
  readonly maxPartitionsPerInvocation?: number;
  /**
   * Whether splitting a failed batch uses one of its retries. AWS does not say for Kafka; for
   * streams it does not, and then one poison record in a batch of n reaches the destination alone
   * after log2(n) splits and its own retries.
   * @default false
   */
  readonly bisectConsumesRetries?: boolean;
  /** Records held per partition (buffered or in a batch) before fetching pauses. @default 2 × batchSize, at least 1,000 */
  readonly maxBufferedRecords?: number;
  /** First retry delay, doubled per failure up to 5 s (AWS does not document its backoff). @default 100 */
  readonly retryBaseDelayMs?: number;
  readonly bootstrapServersInEvent?: string;
  readonly onLog?: (message: string) => void;
  /** Called once when the emulator stops on a failure of its own (see `failure`). */
  readonly onFatal?: (error: Error) => void;
}

export interface EmulatorStats {
  invocations: number;
  failedInvocations: number;
  inFlight: number;
  maxInFlight: number;
  /** Records done with: processed, quarantined by the handler, or handed to the failure destination. */
  committed: number;
  /** When records were last done with (epoch ms), 0 before any. */
  lastCommitAt: number;
  /** [epoch ms, committed so far] after each commit; the most recent COMMIT_LOG_SIZE. */
  commitLog: [number, number][];
  toFailureDestination: number;
  buffered: number;
  maxBuffered: number;
  batchSizes: number[];
  pauses: number;
}

interface Item {
  readonly partition: number;
  readonly message: KafkaMessage;
  readonly offset: number;
  readonly bytes: number;
}

interface Batch {
  items: Item[];
  /** Failed invocations counted against the retries. */
  attempts: number;
  /** Failed invocations of these records, for the backoff. */
  failures: number;
  retryAt: number;
  lastError: string;
}

/** Partitions held by one batch and what is left of it (its retries and bisected halves), in order. */
interface Lane {
  readonly queue: Batch[];
  readonly partitions: Set<number>;
  running: boolean;
}

interface PartitionState {
  readonly partition: number;
  buffer: Item[];
  bufferedBytes: number;
  firstBufferedAt: number;
  /** Records of this partition in a lane. */
  held: number;
  /** The highest offset that went into a lane. */
  highestTaken: number;
  /** The group's committed offset as this emulator knows it (-1 before its first batch). */
  committed: number;
  lane: Lane | undefined;
  paused: boolean;
}

/** The items that match, and the others, each in their order. */
function separate<T>(items: readonly T[], matches: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (matches(item) ? yes : no).push(item);
  return [yes, no];
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export class EventSourceEmulator {
  readonly stats: EmulatorStats = {
    invocations: 0,
    failedInvocations: 0,
    inFlight: 0,
    maxInFlight: 0,
    committed: 0,
    lastCommitAt: 0,
    commitLog: [],
    toFailureDestination: 0,
    buffered: 0,
    maxBuffered: 0,
    batchSizes: [],
    pauses: 0,
  };
  private readonly partitions = new Map<number, PartitionState>();
  private readonly lanes = new Set<Lane>();
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly maxBuffered: number;
  private readonly retries: number;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();
  private fatal: Error | undefined;

  constructor(private readonly options: EmulatorOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > 10_000) {
      throw new Error(`batchSize must be from 1 to 10000, got ${options.batchSize}`);
    }
    if (options.maxConcurrency < 1)
      throw new Error(`maxConcurrency must be at least 1, got ${options.maxConcurrency}`);
    const partitionsPerInvocation = options.maxPartitionsPerInvocation ?? Number.POSITIVE_INFINITY;
    if (!(partitionsPerInvocation >= 1)) {
      throw new Error(
        `maxPartitionsPerInvocation must be at least 1, got ${options.maxPartitionsPerInvocation}`,
      );
    }
    registerKafkaCodecs();
    this.maxBuffered = options.maxBufferedRecords ?? Math.max(2 * options.batchSize, 1_000);
    this.retries =
      options.retryAttempts === -1 && options.onFailure !== undefined
        ? RETRIES_WITH_DESTINATION_CAP
        : options.retryAttempts;
    this.kafka = new Kafka({
      clientId: 'surge-event-source',
      brokers: [...options.brokers],
      logLevel: logLevel.NOTHING,
      // kafkajs restarts a crashed consumer by default, whatever the error: an unreadable batch
      // would then be fetched again and again while the lag stays up. Only retriable errors restart.
      retry: {
        retries: 10,
        initialRetryTime: 100,
        maxRetryTime: 2_000,
        restartOnFailure: async (error) => (error as { retriable?: boolean }).retriable === true,
      },
    });
    this.consumer = this.kafka.consumer({
      groupId: options.consumerGroupId,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
    // A consumer that crashed (an unreadable batch, a lost broker past its retries) delivers
    // nothing more: say so instead of stalling.
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.stopOn(payload.error);
    });
  }

  /** Joins the group and starts delivering. */
  async start(): Promise<void> {
    // LATEST is where each partition ends when the mapping starts, as AWS has it. kafkajs would look
    // the end up only when it first fetches a partition, after the join: a record produced the moment
    // start() returned could fall before it and never be delivered. So the ends are taken here, and
    // kafkajs reads from the beginning of a partition the group has no offset of, the records before
    // its end skipped (the seek after run() spares reading them).
    const latest = this.options.startingPosition === 'LATEST' ? await this.uncommittedEnds() : undefined;
    for (const [partition, end] of latest ?? []) this.state(partition).committed = end;
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      // Offsets are resolved only as far as records fit in the buffer; kafkajs fetches the rest
      // again after the partition resumes, so the buffer never grows past its bound.
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        if (batch.topic !== this.options.topic || this.stopping) return;
        const state = this.state(batch.partition);
        const last = Math.max(state.buffer.at(-1)?.offset ?? -1, state.highestTaken);
        let accepted = 0;
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset <= last || offset < state.committed) continue;
          if (state.buffer.length + state.held >= this.maxBuffered) break;
          if (state.buffer.length === 0) state.firstBufferedAt = Date.now();
          const item = { partition: state.partition, message, offset, bytes: eventBytes(message) };
          state.buffer.push(item);
          state.bufferedBytes += item.bytes;
          resolveOffset(message.offset);
          accepted++;
        }
        this.stats.buffered += accepted;
        this.stats.maxBuffered = Math.max(this.stats.maxBuffered, this.stats.buffered);
        if (state.buffer.length + state.held >= this.maxBuffered && !state.paused) {
          state.paused = true;
          this.stats.pauses++;
          this.consumer.pause([{ topic: this.options.topic, partitions: [state.partition] }]);
        }
        if (accepted > 0) this.pump();
      },
    });
    for (const [partition, end] of latest ?? []) {
      this.consumer.seek({ topic: this.options.topic, partition, offset: String(end) });
    }
    this.pump();
  }

  /** Where each partition the group has no committed offset of ends now. */
  private async uncommittedEnds(): Promise<Map<number, number>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(this.options.topic);
      const [group] = await admin.fetchOffsets({
        groupId: this.options.consumerGroupId,
        topics: [this.options.topic],
      });
      const committed = new Set(
        (group?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => p.partition),
      );
      return new Map(
        ends.filter((p) => !committed.has(p.partition)).map((p) => [p.partition, Number(p.high)]),
      );
    } finally {
      await admin.disconnect();
    }
  }

  /** Why the emulator stopped delivering, if it did on its own. */
  get failure(): Error | undefined {
    return this.fatal;
  }

  /** Lets in-flight invocations finish (or time out), commits what they completed, leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
    await this.consumer.disconnect();
  }

  private stopOn(error: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = error instanceof Error ? error : new Error(String(error));
    this.stopping = true;
    this.options.onLog?.(`event source emulator stopped: ${this.fatal.message}`);
    this.options.onFatal?.(this.fatal);
  }

  private state(partition: number): PartitionState {
    let state = this.partitions.get(partition);
    if (state === undefined) {
      state = {
        partition,
        buffer: [],
        bufferedBytes: 0,
        firstBufferedAt: 0,
        held: 0,
        highestTaken: -1,
        committed: -1,
        lane: undefined,
        paused: false,
      };
      this.partitions.set(partition, state);
    }
    return state;
  }

  /** Starts every batch that is ready, and wakes up again when the next one will be. */
  private pump(): void {
    if (this.stopping) return;
    const now = Date.now();
    let wakeAt = Number.POSITIVE_INFINITY;
    for (const lane of this.lanes) {
      const next = lane.queue[0];
      if (lane.running || next === undefined) continue;
      if (next.retryAt > now) wakeAt = Math.min(wakeAt, next.retryAt);
      else if (this.stats.inFlight < this.options.maxConcurrency) this.run(lane);
    }
    while (this.stats.inFlight < this.options.maxConcurrency) {
      const formed = this.formBatch(now);
      if (formed.batch === undefined) {
        wakeAt = Math.min(wakeAt, formed.wakeAt);
        break;
      }
      const lane: Lane = { queue: [formed.batch], partitions: new Set(), running: false };
      for (const item of formed.batch.items) {
        lane.partitions.add(item.partition);
        (this.partitions.get(item.partition) as PartitionState).lane = lane;
      }
      this.lanes.add(lane);
      this.run(lane);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (wakeAt !== Number.POSITIVE_INFINITY)
      this.timer = setTimeout(() => this.pump(), Math.max(1, wakeAt - now));
  }

  /** A new batch from the partitions no batch holds, once it is full or its window has passed. */
  private formBatch(now: number): { batch?: Batch; wakeAt: number } {
    const free = [...this.partitions.values()]
      .filter((s) => s.lane === undefined && s.buffer.length > 0)
      .sort((a, b) => a.firstBufferedAt - b.firstBufferedAt)
      .slice(0, this.options.maxPartitionsPerInvocation ?? Number.POSITIVE_INFINITY);
    const oldest = free[0];
    if (oldest === undefined) return { wakeAt: Number.POSITIVE_INFINITY };
    let records = 0;
    let bytes = EVENT_OVERHEAD_BYTES;
    for (const s of free) {
      records += s.buffer.length;
      bytes += s.bufferedBytes;
    }
    const windowEnds = oldest.firstBufferedAt + this.options.batchingWindowMs;
    if (records < this.options.batchSize && bytes < MAX_PAYLOAD_BYTES && windowEnds > now) {
      return { wakeAt: windowEnds };
    }
    const items: Item[] = [];
    let size = EVENT_OVERHEAD_BYTES;
    let full = false;
    for (const s of free) {
      let taken = 0;
      for (const item of s.buffer) {
        if (
          items.length >= this.options.batchSize ||
          (items.length > 0 && size + item.bytes > MAX_PAYLOAD_BYTES)
        ) {
          full = true;
          break;
        }
        items.push(item);
        size += item.bytes;
        taken++;
        // A record too large for any event goes alone, to be refused as AWS refuses it.
        if (size > MAX_PAYLOAD_BYTES) {
          full = true;
          break;
        }
      }
      this.hold(s, taken);
      if (full) break;
    }
    return { batch: { items, attempts: 0, failures: 0, retryAt: 0, lastError: '' }, wakeAt: now };
  }

  /** Moves the first `count` buffered records of a partition into a batch. */
  private hold(state: PartitionState, count: number): void {
    if (count === 0) return;
    const taken = state.buffer.splice(0, count);
    // Where the group stood: nothing before the first record taken is ours to commit.
    if (state.committed < 0) state.committed = (taken[0] as Item).offset;
    for (const item of taken) state.bufferedBytes -= item.bytes;
    state.held += count;
    state.highestTaken = Math.max(state.highestTaken, (taken.at(-1) as Item).offset);
    state.firstBufferedAt = Date.now();
    this.stats.buffered -= count;
  }

  private run(lane: Lane): void {
    lane.running = true;
    this.stats.inFlight++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
    const running = this.attempt(lane)
      .catch((error: unknown) => this.stopOn(error))
      .finally(() => {
        lane.running = false;
        this.stats.inFlight--;
        this.inFlight.delete(running);
        if (lane.queue.length === 0) this.lanes.delete(lane);
        this.pump();
      });
    this.inFlight.add(running);
  }

  /** One step of a lane: deliver its first batch, and settle what the answer means. */
  private async attempt(lane: Lane): Promise<void> {
    const batch = lane.queue[0] as Batch;
    const payloadBytes = batch.items.reduce((n, item) => n + item.bytes, EVENT_OVERHEAD_BYTES);
    const undeliverable = (condition: FailureCondition, items: Item[], error: string) =>
      this.giveUp(items, {
        condition,
        attempts: batch.failures,
        error,
        batchSize: batch.items.length,
        payloadBytes,
      });

    // Never delivered: records past the maximum age, and a record no event can hold.
    const now = Date.now();
    const maxAge = this.options.maxRecordAgeMs;
    const never: [FailureCondition, (item: Item) => boolean, string][] = [
      [
        'RecordAgeExceeded',
        (item) => maxAge >= 0 && now - Number(item.message.timestamp) > maxAge,
        `older than the maximum record age (${maxAge} ms)`,
      ],
      [
        'MaximumPayloadSizeExceeded',
        (item) => item.bytes + EVENT_OVERHEAD_BYTES > MAX_PAYLOAD_BYTES,
        `a record over ${MAX_PAYLOAD_BYTES} bytes of event`,
      ],
    ];
    for (const [condition, refused, error] of never) {
      const [out, kept] = separate(batch.items, refused);
      batch.items = kept;
      if (out.length > 0) await undeliverable(condition, out, error);
    }
    if (batch.items.length === 0) {
      lane.queue.shift();
      await this.settle(lane);
      return;
    }

    const { failedFrom, error } = await this.invoke(batch.items);
    const [remaining, succeeded] = separate(
      batch.items,
      (item) => item.offset >= (failedFrom.get(item.partition) ?? Infinity),
    );
    this.done(succeeded.length);
    if (remaining.length === 0) {
      lane.queue.shift();
      await this.settle(lane);
      return;
    }
    this.stats.failedInvocations++;
    batch.failures++;
    batch.lastError = error;
    const backoff = Math.min(5_000, (this.options.retryBaseDelayMs ?? 100) * 2 ** (batch.failures - 1));
    const split = this.options.bisectBatchOnError && remaining.length > 1;
    if (!split || this.options.bisectConsumesRetries) batch.attempts++;
    if (this.retries >= 0 && batch.attempts > this.retries) {
      lane.queue.shift();
      await this.giveUp(remaining, {
        condition: 'RetryAttemptsExhausted',
        attempts: batch.failures,
        error,
        batchSize: batch.items.length,
        payloadBytes,
      });
    } else if (split) {
      const half = Math.ceil(remaining.length / 2);
      const retry = (items: Item[]): Batch => ({ ...batch, items, retryAt: Date.now() + backoff });
      lane.queue.splice(0, 1, retry(remaining.slice(0, half)), retry(remaining.slice(half)));
    } else {
      batch.items = remaining;
      batch.retryAt = Date.now() + backoff;
    }
    await this.settle(lane);
  }

  /** Invokes the handler: per partition, the lowest offset that failed (all of them on an error). */
  private async invoke(items: readonly Item[]): Promise<{ failedFrom: Map<number, number>; error: string }> {
    const deadline = Date.now() + this.options.timeoutMs;
    const context = {
      awsRequestId: randomUUID(),
      functionName: 'surge-analytics-local',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:surge-analytics-local',
      memoryLimitInMB: '1024',
      logGroupName: '/aws/lambda/surge-analytics-local',
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    } satisfies Context;
    this.stats.invocations++;
    this.stats.batchSizes.push(items.length);
    if (this.stats.batchSizes.length > 1_000) this.stats.batchSizes.shift();
    const all = () => {
      const from = new Map<number, number>();
      for (const item of items)
        from.set(item.partition, Math.min(from.get(item.partition) ?? item.offset, item.offset));
      return from;
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new TimeoutError(`Task timed out after ${this.options.timeoutMs} ms`)),
          this.options.timeoutMs,
        );
      });
      const response = await Promise.race([this.options.handler(this.event(items), context), timeout]);
      if (!this.options.reportBatchItemFailures) return { failedFrom: new Map(), error: '' };
      const verdict = batchVerdict(response, this.options.topic, items);
      if (verdict.kind === 'success') return { failedFrom: new Map(), error: '' };
      if (verdict.kind === 'failed') return { failedFrom: all(), error: verdict.reason };
      const from = [...verdict.failedFrom].map(([p, o]) => `${this.options.topic}-${p}@${o}`).join(', ');
      return {
        failedFrom: new Map(verdict.failedFrom),
        error: `partial batch response: failed from ${from}`,
      };
    } catch (thrown) {
      return {
        failedFrom: all(),
        error: thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private event(items: readonly Item[]): MSKEvent {
    const event = buildMskEvent([], {
      bootstrapServers: this.options.bootstrapServersInEvent ?? this.options.brokers.join(','),
    });
    for (const item of items) {
      const key = `${this.options.topic}-${item.partition}`;
      event.records[key] ??= [];
      event.records[key].push(eventRecordOf(this.options.topic, item.partition, item.message));
    }
    return event;
  }

  /** Hands records to the failure destination (or logs them when there is none); they count as done. */
  private async giveUp(
    items: readonly Item[],
    context: Omit<FailedBatch, 'topic' | 'partitions'>,
  ): Promise<void> {
    const byPartition = new Map<number, KafkaMessage[]>();
    for (const item of items) {
      const list = byPartition.get(item.partition) ?? [];
      list.push(item.message);
      byPartition.set(item.partition, list);
    }
    const failed: FailedBatch = {
      topic: this.options.topic,
      partitions: [...byPartition].map(([partition, records]) => ({ partition, records })),
      ...context,
    };
    const where = failed.partitions
      .map((p) => `${this.options.topic}-${p.partition}@${p.records[0]?.offset}..${p.records.at(-1)?.offset}`)
      .join(', ');
    this.options.onLog?.(
      `giving up on ${items.length} records (${context.condition}, ${context.attempts} invocations) ${where}: ${context.error}`,
    );
    if (this.options.onFailure !== undefined) await this.options.onFailure(failed);
    this.stats.toFailureDestination += items.length;
    this.done(items.length);
  }

  private done(count: number): void {
    if (count === 0) return;
    this.stats.committed += count;
    this.stats.lastCommitAt = Date.now();
    this.stats.commitLog.push([this.stats.lastCommitAt, this.stats.committed]);
    if (this.stats.commitLog.length > COMMIT_LOG_SIZE) this.stats.commitLog.shift();
  }

  /**
   * Commits, per partition of the lane, up to its first record still to be tried, and lets the
   * partitions the lane no longer holds go back to new batches.
   */
  private async settle(lane: Lane): Promise<void> {
    const waiting = new Map<number, number>();
    const pending = new Map<number, number>();
    for (const batch of lane.queue) {
      for (const item of batch.items) {
        waiting.set(item.partition, Math.min(waiting.get(item.partition) ?? item.offset, item.offset));
        pending.set(item.partition, (pending.get(item.partition) ?? 0) + 1);
      }
    }
    const commits: { topic: string; partition: number; offset: string }[] = [];
    for (const partition of lane.partitions) {
      const state = this.partitions.get(partition) as PartitionState;
      const next = waiting.get(partition) ?? state.highestTaken + 1;
      if (next > state.committed) {
        commits.push({ topic: this.options.topic, partition, offset: String(next) });
        state.committed = next;
      }
      state.held = pending.get(partition) ?? 0;
      if (state.held === 0) {
        state.lane = undefined;
        lane.partitions.delete(partition);
      }
      if (state.paused && state.buffer.length + state.held < this.maxBuffered / 2) {
        state.paused = false;
        this.consumer.resume([{ topic: this.options.topic, partitions: [partition] }]);
      }
    }
    if (commits.length > 0) await this.consumer.commitOffsets(commits);
  }
}
