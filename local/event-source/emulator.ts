import { randomUUID } from 'node:crypto';
import type { Context, MSKEvent, MSKRecord } from 'aws-lambda';
import { type Consumer, type IHeaders, Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { buildMskEvent, toMskRecord } from '../msk-event';

/**
 * An emulator of the Lambda MSK event source mapping, for running the real handler locally.
 * What it does as AWS does:
 * - one consumer group per mapping, starting position for a group without committed offsets;
 * - a batch closes on the batch size, the batching window or the 6 MB payload limit; the event
 *   is shaped as AWS delivers it (records under "topic-partition", offset order);
 * - one batch in flight per partition; at most `maxConcurrency` invocations at once;
 * - a Lambda-like context, and a timeout that counts as a failure;
 * - offsets are committed only after success (at-least-once); a failed batch is retried with
 *   backoff until the retry attempts or the maximum record age run out, then handed to the
 *   failure destination and skipped; bisect halves the batch on each failure; a partial batch
 *   response commits the records before the first failed one;
 * - fetching pauses for a partition whose buffer is full, so memory stays bounded.
 * Where it differs: each invocation carries the records of one partition (AWS may combine
 * partitions in one event), and a timed-out handler is not killed (its promise is abandoned).
 */

export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Per-record JSON overhead of an MSK event beside key and value (field names, numbers, headers). */
const RECORD_OVERHEAD_BYTES = 160;

export type BatchHandler = (event: MSKEvent, context: Context) => Promise<unknown>;

export interface FailedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly KafkaMessage[];
  readonly attempts: number;
  readonly error: string;
  /** Why it was given up on, named as AWS's failure documents name it. */
  readonly condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
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
      headers: headersOf(m),
    },
    topic,
  );
}

export interface EmulatorOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly consumerGroupId: string;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly maxConcurrency: number;
  /** -1: until the records expire. */
  readonly retryAttempts: number;
  /** -1: no limit. */
  readonly maxRecordAgeMs: number;
  readonly bisectBatchOnError: boolean;
  readonly reportBatchItemFailures: boolean;
  readonly timeoutMs: number;
  readonly handler: BatchHandler;
  /** Where a batch goes when its retries run out. @default - dropped after being logged */
  readonly onFailure?: (batch: FailedBatch) => Promise<void>;
  /** Records buffered per partition before fetching pauses. @default 2 × batchSize, at least 1,000 */
  readonly maxBufferedRecords?: number;
  /** First retry delay, doubled per attempt up to 5 s. @default 100 */
  readonly retryBaseDelayMs?: number;
  readonly bootstrapServersInEvent?: string;
  readonly onLog?: (message: string) => void;
}

export interface EmulatorStats {
  invocations: number;
  failedInvocations: number;
  inFlight: number;
  maxInFlight: number;
  /** Records committed: processed, quarantined by the handler, or handed to the failure destination. */
  committed: number;
  /** When the last records were committed (epoch ms), 0 before any. */
  lastCommitAt: number;
  /** [epoch ms, committed so far] after each commit; the most recent COMMIT_LOG_SIZE. */
  commitLog: [number, number][];
  toFailureDestination: number;
  buffered: number;
  maxBuffered: number;
  batchSizes: number[];
  pauses: number;
}

interface PartitionState {
  readonly partition: number;
  buffer: KafkaMessage[];
  bufferedBytes: number;
  firstBufferedAt: number;
  inFlight: boolean;
  paused: boolean;
  attempts: number;
  retryAt: number;
  /** Bisect: the next attempt takes at most this many records. */
  limit: number;
  lastError: string;
}

const COMMIT_LOG_SIZE = 10_000;

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

function recordBytes(message: KafkaMessage): number {
  const raw = (message.key?.length ?? 0) + (message.value?.length ?? 0);
  return Math.ceil(raw / 3) * 4 + RECORD_OVERHEAD_BYTES;
}

function headersOf(message: KafkaMessage): Record<string, string | Buffer>[] {
  const headers: IHeaders = message.headers ?? {};
  return Object.entries(headers).flatMap(([name, value]) =>
    value === undefined
      ? []
      : [{ [name]: Array.isArray(value) ? String(value[0]) : (value as string | Buffer) }],
  );
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
  private readonly consumer: Consumer;
  private readonly maxBuffered: number;
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
    this.maxBuffered = options.maxBufferedRecords ?? Math.max(2 * options.batchSize, 1_000);
    this.consumer = new Kafka({
      clientId: 'surge-event-source',
      brokers: [...options.brokers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2_000 },
    }).consumer({
      groupId: options.consumerGroupId,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
  }

  /** Joins the group and starts delivering. */
  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({
      topic: this.options.topic,
      fromBeginning: this.options.startingPosition === 'TRIM_HORIZON',
    });
    await this.consumer.run({
      autoCommit: false,
      // Offsets are resolved only as far as records fit in the buffer; kafkajs fetches the rest
      // again after the partition resumes, so the buffer never grows past its bound.
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        if (batch.topic !== this.options.topic) return;
        const state = this.state(batch.partition);
        const lastBuffered = state.buffer.at(-1);
        let accepted = 0;
        for (const message of batch.messages) {
          if (lastBuffered !== undefined && BigInt(message.offset) <= BigInt(lastBuffered.offset)) continue;
          if (state.buffer.length >= this.maxBuffered) break;
          if (state.buffer.length === 0) state.firstBufferedAt = Date.now();
          state.buffer.push(message);
          state.bufferedBytes += recordBytes(message);
          resolveOffset(message.offset);
          accepted++;
        }
        this.stats.buffered += accepted;
        this.stats.maxBuffered = Math.max(this.stats.maxBuffered, this.stats.buffered);
        if (state.buffer.length >= this.maxBuffered && !state.paused) {
          state.paused = true;
          this.stats.pauses++;
          this.consumer.pause([{ topic: this.options.topic, partitions: [state.partition] }]);
        }
        if (accepted > 0) this.pump();
      },
    });
    this.pump();
  }

  /** Why the emulator stopped delivering, if it did on its own. */
  get failure(): Error | undefined {
    return this.fatal;
  }

  /** Lets in-flight invocations finish (or time out), commits, leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
    await this.consumer.disconnect();
  }

  private state(partition: number): PartitionState {
    let state = this.partitions.get(partition);
    if (state === undefined) {
      state = {
        partition,
        buffer: [],
        bufferedBytes: 0,
        firstBufferedAt: 0,
        inFlight: false,
        paused: false,
        attempts: 0,
        retryAt: 0,
        limit: this.options.batchSize,
        lastError: '',
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
    for (const state of this.partitions.values()) {
      if (this.stats.inFlight >= this.options.maxConcurrency) break;
      if (state.inFlight || state.buffer.length === 0) continue;
      if (state.retryAt > now) {
        wakeAt = Math.min(wakeAt, state.retryAt);
        continue;
      }
      const full =
        state.buffer.length >= Math.min(state.limit, this.options.batchSize) ||
        state.bufferedBytes >= MAX_PAYLOAD_BYTES;
      const windowEnds = state.firstBufferedAt + this.options.batchingWindowMs;
      if (!full && state.attempts === 0 && windowEnds > now) {
        wakeAt = Math.min(wakeAt, windowEnds);
        continue;
      }
      this.launch(state);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (wakeAt !== Number.POSITIVE_INFINITY)
      this.timer = setTimeout(() => this.pump(), Math.max(1, wakeAt - now));
  }

  private takeBatch(state: PartitionState): KafkaMessage[] {
    const limit = Math.min(state.limit, this.options.batchSize);
    const batch: KafkaMessage[] = [];
    let bytes = 0;
    for (const message of state.buffer) {
      const size = recordBytes(message);
      if (batch.length >= limit || (batch.length > 0 && bytes + size > MAX_PAYLOAD_BYTES)) break;
      batch.push(message);
      bytes += size;
    }
    return batch;
  }

  private launch(state: PartitionState): void {
    const batch = this.takeBatch(state);
    state.inFlight = true;
    this.stats.inFlight++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
    const running = this.invoke(state, batch)
      .catch((error: unknown) => {
        // A failure of the emulator itself (commit, failure destination): stop delivering.
        this.fatal = error instanceof Error ? error : new Error(String(error));
        this.options.onLog?.(`event source emulator stopped: ${this.fatal.message}`);
        this.stopping = true;
      })
      .finally(() => {
        state.inFlight = false;
        this.stats.inFlight--;
        this.inFlight.delete(running);
        this.pump();
      });
    this.inFlight.add(running);
  }

  private event(state: PartitionState, batch: readonly KafkaMessage[]): MSKEvent {
    const event = buildMskEvent([], {
      bootstrapServers: this.options.bootstrapServersInEvent ?? this.options.brokers.join(','),
    });
    const records: MSKRecord[] = batch.map((m) => eventRecordOf(this.options.topic, state.partition, m));
    event.records[`${this.options.topic}-${state.partition}`] = records;
    return event;
  }

  private async invoke(state: PartitionState, batch: KafkaMessage[]): Promise<void> {
    const deadline = Date.now() + this.options.timeoutMs;
    const requestId = randomUUID();
    const context = {
      awsRequestId: requestId,
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
    this.stats.batchSizes.push(batch.length);
    if (this.stats.batchSizes.length > 1_000) this.stats.batchSizes.shift();

    let failedFrom: number | undefined;
    let error = '';
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new TimeoutError(`Task timed out after ${this.options.timeoutMs} ms`)),
          this.options.timeoutMs,
        );
      });
      const response = await Promise.race([this.options.handler(this.event(state, batch), context), timeout]);
      failedFrom = this.firstReportedFailure(response, state.partition, batch);
      if (failedFrom !== undefined) error = `partial batch response: failed from offset ${failedFrom}`;
    } catch (thrown) {
      failedFrom = Number((batch[0] as KafkaMessage).offset);
      error = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
    } finally {
      clearTimeout(timer);
    }

    const succeeded = failedFrom === undefined ? batch : batch.filter((m) => Number(m.offset) < failedFrom);
    if (succeeded.length > 0) await this.commit(state, succeeded);
    if (failedFrom === undefined) {
      state.attempts = 0;
      state.retryAt = 0;
      state.limit = this.options.batchSize;
      return;
    }

    this.stats.failedInvocations++;
    state.attempts++;
    state.lastError = error;
    const remaining = batch.filter((m) => Number(m.offset) >= (failedFrom as number));
    const oldest = Number(remaining[0]?.timestamp ?? Date.now());
    const expired = this.options.maxRecordAgeMs >= 0 && Date.now() - oldest > this.options.maxRecordAgeMs;
    const exhausted = this.options.retryAttempts >= 0 && state.attempts > this.options.retryAttempts;
    if (expired || exhausted) {
      this.options.onLog?.(
        `partition ${state.partition}: giving up on ${remaining.length} records after ${state.attempts} attempts (${expired ? 'record age' : 'retry attempts'}): ${error}`,
      );
      await this.options.onFailure?.({
        topic: this.options.topic,
        partition: state.partition,
        records: remaining,
        attempts: state.attempts,
        error,
        condition: expired ? 'RecordAgeExceeded' : 'RetryAttemptsExhausted',
      });
      this.stats.toFailureDestination += remaining.length;
      await this.commit(state, remaining);
      state.attempts = 0;
      state.retryAt = 0;
      state.limit = this.options.batchSize;
      return;
    }
    if (this.options.bisectBatchOnError && remaining.length > 1)
      state.limit = Math.ceil(remaining.length / 2);
    const delay = Math.min(5_000, (this.options.retryBaseDelayMs ?? 100) * 2 ** (state.attempts - 1));
    state.retryAt = Date.now() + delay;
  }

  /** The lowest offset of this partition that the handler reported failed, if partial responses are on. */
  private firstReportedFailure(
    response: unknown,
    partition: number,
    batch: readonly KafkaMessage[],
  ): number | undefined {
    if (!this.options.reportBatchItemFailures || typeof response !== 'object' || response === null)
      return undefined;
    const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
    if (!Array.isArray(failures) || failures.length === 0) return undefined;
    const first = Number((batch[0] as KafkaMessage).offset);
    let lowest: number | undefined;
    for (const failure of failures) {
      const id = (failure as { itemIdentifier?: { partition?: unknown; offset?: unknown } }).itemIdentifier;
      // An identifier that names no record of this batch fails the whole batch, as AWS does.
      if (
        id === undefined ||
        id.partition !== `${this.options.topic}-${partition}` ||
        typeof id.offset !== 'number'
      ) {
        return first;
      }
      lowest = lowest === undefined ? id.offset : Math.min(lowest, id.offset);
    }
    return lowest === undefined || lowest < first ? first : lowest;
  }

  private async commit(state: PartitionState, records: readonly KafkaMessage[]): Promise<void> {
    const last = records.at(-1) as KafkaMessage;
    await this.consumer.commitOffsets([
      { topic: this.options.topic, partition: state.partition, offset: String(BigInt(last.offset) + 1n) },
    ]);
    let bytes = 0;
    for (const record of records) bytes += recordBytes(record);
    state.buffer.splice(0, records.length);
    state.bufferedBytes -= bytes;
    state.firstBufferedAt = Date.now();
    this.stats.buffered -= records.length;
    this.stats.committed += records.length;
    this.stats.lastCommitAt = Date.now();
    this.stats.commitLog.push([this.stats.lastCommitAt, this.stats.committed]);
    if (this.stats.commitLog.length > COMMIT_LOG_SIZE) this.stats.commitLog.shift();
    if (state.paused && state.buffer.length < this.maxBuffered / 2) {
      state.paused = false;
      this.consumer.resume([{ topic: this.options.topic, partitions: [state.partition] }]);
    }
  }
}
