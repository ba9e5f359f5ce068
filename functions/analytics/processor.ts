import type { DeviceDelta, PartitionDelta } from '../domain/deltas';
import type { QuarantineReason } from '../domain/telemetry';
import type { SchemaRegistry } from '../shared/avro/schema-registry';
import type { AnalyticsConfig } from '../shared/config';
import { StoreBehindError } from '../shared/errors';
import type { OutboundMessage, Publisher } from '../shared/kafka/publisher';
import { type SourceRecord, topicPartition } from '../shared/msk/event';
import type { PartitionOrigins } from '../shared/partition-origins';
import type { AnalyticsStore, AnsweredStates } from '../shared/redis/analytics-store';
import { DeviceAccumulator, deviceDelta, PartitionAccumulator, partitionDelta } from './aggregate';
import { type AcceptedRecord, type Classified, classifyRecord } from './decode';
import {
  type Applied,
  applyExactlyOnce,
  correctedPartition,
  type Recompute,
  unreadableCorrection,
} from './exactly-once';
import { originGaps, watermarkGaps } from './gaps';
import { alertMessage, alertReasons, deadLetterMessage } from './outputs';
import { SummaryEncoder } from './summary-encoder';

export interface ProcessorDependencies {
  readonly store: AnalyticsStore;
  readonly publisher: Publisher;
  readonly registry: SchemaRegistry;
  readonly config: Pick<AnalyticsConfig, 'topics' | 'alertTemperatureThreshold'> &
    Partial<Pick<AnalyticsConfig, 'watermarkGapTolerance' | 'summaryTranscoding'>>;
  /**
   * Where partitions begin for the mapping (the log's start at TRIM_HORIZON, the first offset it
   * delivered at LATEST): a batch of a partition the store has nothing of is checked against it.
   * @default - such a batch is applied unchecked
   */
  readonly origins?: PartitionOrigins;
}

export interface BatchOutcome {
  readonly records: number;
  /** Valid records whose effect was applied by this invocation. */
  readonly applied: number;
  /** Valid records an earlier delivery had already applied. */
  readonly duplicates: number;
  readonly quarantined: Readonly<Partial<Record<QuarantineReason, number>>>;
  readonly devices: number;
  /** Devices whose stored state could not be read: their records went to the dead-letter topic. */
  readonly unreadableDevices: number;
  readonly alerts: number;
  /** Store calls made: 1 unless a redelivery overlapped what was applied or a device was unreadable. */
  readonly storeCalls: number;
  readonly storeMs: number;
  readonly publishMs: number;
}

export type BatchProcessor = (records: readonly SourceRecord[]) => Promise<BatchOutcome>;

/**
 * Processes one batch: classify every record, fold the valid ones into per-device deltas,
 * apply them exactly once, then publish dead letters, alerts and device summaries.
 * Bad records are quarantined, never thrown; store and Kafka failures are thrown so that the
 * event source mapping delivers the batch again, which the watermarks make harmless. A batch
 * that starts past where the store stands (it lost writes) is refused with StoreBehindError.
 */
export function createBatchProcessor(deps: ProcessorDependencies): BatchProcessor {
  const { store, publisher, registry, config, origins } = deps;
  const gapTolerance = config.watermarkGapTolerance ?? 0;
  const summaryEncoder = new SummaryEncoder(
    registry,
    config.topics.summaries,
    config.summaryTranscoding ?? true,
  );

  return async function processBatch(records) {
    // Where the store stands is read while the batch is decoded: it decides nothing until the apply.
    const standing = gapTolerance < 0 ? undefined : store.watermarks(partitionsOf(records));
    standing?.catch(() => undefined);

    const unreadable = new Map<string, string>();
    const classify = (i: number): Classified => classifyRecord(records[i] as SourceRecord, registry);

    // One pass: every record is classified, folded into its device's and partition's accumulators
    // and, when it raises an alert or is quarantined, turned into its message. Nothing per record
    // outlives its turn but its index (the rare recompute of an overlapping redelivery decodes again).
    // Each device's fold, by its position in `folds`. Which device each record folded into (-1 for
    // none) is kept per record: the rare recompute and divert find a device's records through it,
    // so no list is kept per device.
    const ordinals = new Map<string, number>();
    const folds: DeviceAccumulator[] = [];
    const deviceOfRecord = new Int32Array(records.length).fill(-1);
    let recordsOfDevice: number[][] | undefined;
    const recordsOf = (deviceId: string): readonly number[] => {
      const ordinal = ordinals.get(deviceId);
      if (ordinal === undefined) return [];
      if (recordsOfDevice === undefined) {
        const lists: number[][] = folds.map(() => []);
        deviceOfRecord.forEach((d, i) => {
          if (d >= 0) lists[d]?.push(i);
        });
        recordsOfDevice = lists;
      }
      return recordsOfDevice[ordinal] ?? [];
    };
    const partitions = new Map<string, PartitionEntry>();
    const early: OutboundMessage[] = [];
    const byReason: Partial<Record<QuarantineReason, number>> = {};
    let acceptedCount = 0;
    let alerts = 0;
    let partition: PartitionEntry | undefined;
    for (let i = 0; i < records.length; i++) {
      const source = records[i] as SourceRecord;
      if (
        partition === undefined ||
        partition.topic !== source.topic ||
        partition.partition !== source.partition
      ) {
        const tp = topicPartition(source.topic, source.partition);
        partition = partitions.get(tp);
        if (partition === undefined) {
          partition = {
            topic: source.topic,
            partition: source.partition,
            fold: new PartitionAccumulator(tp),
            indices: [],
          };
          partitions.set(tp, partition);
        }
      }
      partition.indices.push(i);
      const result = classify(i);
      if (!result.accepted) {
        partition.fold.add(source.offset, result.reason);
        byReason[result.reason] = (byReason[result.reason] ?? 0) + 1;
        early.push(deadLetterMessage(result, config.topics));
        continue;
      }
      acceptedCount++;
      partition.fold.add(source.offset);
      const { deviceId } = result.reading;
      let ordinal = ordinals.get(deviceId);
      if (ordinal === undefined) {
        ordinal = folds.length;
        ordinals.set(deviceId, ordinal);
        folds.push(new DeviceAccumulator(deviceId));
      }
      (folds[ordinal] as DeviceAccumulator).add(result.reading, partition.fold.topicPartition, source.offset);
      deviceOfRecord[i] = ordinal;
      const reasons = alertReasons(result, config.alertTemperatureThreshold);
      if (reasons.length > 0) {
        early.push(alertMessage(result, reasons, config.alertTemperatureThreshold, config.topics, registry));
        alerts++;
      }
    }

    const partitionDeltas = [...partitions.values()].map((entry) => entry.fold.delta() as PartitionDelta);
    if (standing !== undefined) {
      const marks = await standing;
      const gaps = watermarkGaps(marks, partitionDeltas, gapTolerance);
      // A partition the store has nothing of: its first batch went to the failure destination, or
      // the store lost everything. Either way the batch must start where the partition's log begins.
      if (origins !== undefined) {
        const unseen = partitionDeltas.filter((p) => (marks.get(p.topicPartition) ?? -1) < 0);
        if (unseen.length > 0) {
          const starts = unseen.map((p) => {
            const { topic, partition } = partitions.get(p.topicPartition) as PartitionEntry;
            return { topic, partition, firstOffset: p.minOffset };
          });
          gaps.push(...originGaps(await origins.earliest(starts), unseen, gapTolerance));
        }
      }
      if (gaps.length > 0) throw new StoreBehindError(gaps);
    }

    // Dead letters and alerts do not depend on the store: they are published while it works.
    const publishStart = performance.now();
    const published: Promise<void>[] = [];
    const send = (messages: OutboundMessage[]) => {
      const sent = publisher.publish(messages);
      // Settled either way before this function returns; its failure is reported below.
      sent.catch(() => undefined);
      published.push(sent);
    };
    send(early);

    // Summaries are encoded as the store answers and sent in two requests: the first half goes out
    // while the store still works on the rest (more, smaller produce requests cost more than they overlap).
    let summaries: OutboundMessage[] = [];
    const firstPart = Math.ceil(folds.length / 2);
    let sentFirst = false;
    const onStates = (states: AnsweredStates) => {
      for (const message of summaryEncoder.messages(states)) summaries.push(message);
      if (!sentFirst && summaries.length >= firstPart) {
        sentFirst = true;
        send(summaries);
        summaries = [];
      }
    };
    // A device whose state cannot be read is left as it is; its records become dead letters, and a
    // correction of the fleet totals (itself exactly once) counts them as quarantined, not applied.
    const divert = (deviceId: string, error: string): PartitionDelta[] => {
      if (!ordinals.has(deviceId) || unreadable.has(deviceId)) return [];
      unreadable.set(deviceId, error);
      const letters: OutboundMessage[] = [];
      const byPartition = new Map<string, number[]>();
      for (const i of recordsOf(deviceId)) {
        const source = records[i] as SourceRecord;
        letters.push(deadLetterMessage({ source, reason: 'STATE_UNREADABLE', error }, config.topics));
        const tp = topicPartition(source.topic, source.partition);
        const offsets = byPartition.get(tp);
        if (offsets === undefined) byPartition.set(tp, [source.offset]);
        else offsets.push(source.offset);
      }
      byReason.STATE_UNREADABLE = (byReason.STATE_UNREADABLE ?? 0) + letters.length;
      send(letters);
      return [...byPartition].map(([tp, offsets]) => unreadableCorrection(tp, offsets));
    };
    const recompute: Recompute = {
      device(deviceId, watermarks) {
        const accepted: AcceptedRecord[] = [];
        for (const i of recordsOf(deviceId)) {
          const result = classify(i);
          if (result.accepted) accepted.push(result);
        }
        return deviceDelta(deviceId, accepted, watermarks);
      },
      partition(tp, watermark) {
        const source = correctedPartition(tp);
        if (source !== undefined) {
          // A correction's own redelivery: the unreadable records above what it already corrected.
          const offsets: number[] = [];
          for (const deviceId of unreadable.keys()) {
            for (const i of recordsOf(deviceId)) {
              const record = records[i] as SourceRecord;
              if (topicPartition(record.topic, record.partition) === source && record.offset > watermark)
                offsets.push(record.offset);
            }
          }
          return offsets.length === 0 ? undefined : unreadableCorrection(source, offsets);
        }
        return partitionDelta(tp, (partitions.get(tp)?.indices ?? []).map(classify), watermark);
      },
    };
    const storeStart = performance.now();
    let applied: Applied;
    try {
      applied = await applyExactlyOnce(
        store,
        folds.map((fold) => fold.delta() as DeviceDelta),
        partitionDeltas,
        recompute,
        onStates,
        divert,
      );
      await store.confirmDurable();
    } catch (error) {
      await Promise.allSettled(published);
      throw error;
    }
    const storeMs = performance.now() - storeStart;
    send(summaries);
    await Promise.all(published);
    const publishMs = performance.now() - publishStart;

    const unreadableRecords = byReason.STATE_UNREADABLE ?? 0;
    return {
      records: records.length,
      applied: applied.records,
      duplicates: acceptedCount - unreadableRecords - applied.records,
      quarantined: byReason,
      devices: folds.length,
      unreadableDevices: unreadable.size,
      alerts,
      storeCalls: applied.storeCalls,
      storeMs,
      publishMs,
    };
  };
}

/** The distinct topic-partitions of a batch, in delivery order (records come grouped by them). */
function partitionsOf(records: readonly SourceRecord[]): string[] {
  const out: string[] = [];
  let topic: string | undefined;
  let partition = -1;
  for (const record of records) {
    if (record.topic === topic && record.partition === partition) continue;
    topic = record.topic;
    partition = record.partition;
    const tp = topicPartition(topic, partition);
    if (!out.includes(tp)) out.push(tp);
  }
  return out;
}

interface PartitionEntry {
  readonly topic: string;
  readonly partition: number;
  readonly fold: PartitionAccumulator;
  readonly indices: number[];
}
