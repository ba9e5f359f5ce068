import type { Kafka } from 'kafkajs';
import type { BatchProcessor } from '../functions/analytics/processor';
import { type SourceRecord, topicPartition } from '../functions/shared/msk/event';
import { rangesOfFailureMetadata, recordsOfFailureDocument } from '../functions/shared/msk/on-failure';
import { partitionBounds, partitionsOf, readPartition } from './partition-reader';
import { addOutcome, emptyTotals, type RangeTotals } from './totals';

/**
 * Replay of the failure topic: the records of batches the event source mapping gave up on (AWS's
 * JSON documents, as the local emulator writes them too) go through the analytics processor again,
 * per source partition in offset order. Exact: the part of a diverted batch that had been applied
 * is below the watermarks and is skipped; a record that appears twice is applied once.
 */

export interface ReplayOutcome {
  readonly documents: number;
  /** Documents that hold no readable record (reported, not replayed). */
  readonly unreadable: readonly string[];
  readonly partitions: readonly ({
    readonly topicPartition: string;
    readonly from: number;
    readonly to: number;
  } & Readonly<RangeTotals>)[];
}

export async function replayFailed(
  request: { readonly topic: string; readonly batchSize?: number },
  deps: { readonly kafka: Kafka; readonly processor: BatchProcessor },
): Promise<ReplayOutcome> {
  const bySource = new Map<string, Map<number, SourceRecord>>();
  const unreadable: string[] = [];
  let documents = 0;
  for (const partition of await partitionsOf(deps.kafka, request.topic)) {
    const { low, high } = await partitionBounds(deps.kafka, request.topic, partition);
    await readPartition(
      deps.kafka,
      { topic: request.topic, partition, from: low, to: high - 1, batchSize: 1_000 },
      async (messages) => {
        for (const message of messages) {
          documents++;
          try {
            for (const record of recordsOfFailureDocument(message.value ?? '')) {
              const tp = topicPartition(record.topic, record.partition);
              let records = bySource.get(tp);
              if (records === undefined) {
                records = new Map();
                bySource.set(tp, records);
              }
              records.set(record.offset, record);
            }
          } catch (error) {
            unreadable.push(`${request.topic}-${partition}@${message.offset}: ${(error as Error).message}`);
          }
        }
      },
    );
  }
  const partitions: ReplayOutcome['partitions'][number][] = [];
  const batchSize = request.batchSize ?? 1_000;
  for (const [tp, byOffset] of [...bySource].sort(([a], [b]) => a.localeCompare(b))) {
    const records = [...byOffset.values()].sort((a, b) => a.offset - b.offset);
    const totals = emptyTotals();
    for (let at = 0; at < records.length; at += batchSize) {
      addOutcome(totals, await deps.processor(records.slice(at, at + batchSize)));
    }
    partitions.push({
      topicPartition: tp,
      from: records[0]?.offset ?? 0,
      to: records.at(-1)?.offset ?? 0,
      ...totals,
    });
  }
  return { documents, unreadable, partitions };
}

/**
 * Replay from an SQS or SNS failure destination: AWS's metadata documents name offset ranges, not
 * records, so the records are read again from the source topic (within its retention) and go
 * through the processor per partition in offset order. Exact in the same way: what had been
 * applied is skipped, and ranges that overlap are read once.
 */
export async function replayFailedRanges(
  request: { readonly documents: readonly string[]; readonly batchSize?: number },
  deps: { readonly kafka: Kafka; readonly processor: BatchProcessor },
): Promise<ReplayOutcome> {
  const unreadable: string[] = [];
  const ranges = new Map<string, { topic: string; partition: number; from: number; to: number }[]>();
  for (const [line, document] of request.documents.entries()) {
    try {
      for (const range of rangesOfFailureMetadata(document)) {
        const tp = topicPartition(range.topic, range.partition);
        ranges.set(tp, [...(ranges.get(tp) ?? []), range]);
      }
    } catch (error) {
      unreadable.push(`document ${line + 1}: ${(error as Error).message}`);
    }
  }
  const batchSize = request.batchSize ?? 1_000;
  const partitions: ReplayOutcome['partitions'][number][] = [];
  for (const [tp, list] of [...ranges].sort(([a], [b]) => a.localeCompare(b))) {
    const totals = emptyTotals();
    const merged = mergeRanges(list);
    for (const range of merged) {
      await readPartition(deps.kafka, { ...range, batchSize }, async (records) => {
        addOutcome(totals, await deps.processor(records));
      });
    }
    partitions.push({
      topicPartition: tp,
      from: merged[0]?.from ?? 0,
      to: merged.at(-1)?.to ?? 0,
      ...totals,
    });
  }
  return { documents: request.documents.length, unreadable, partitions };
}

/** Ranges of one partition, sorted, overlapping or touching ones joined. */
export function mergeRanges<R extends { from: number; to: number }>(ranges: readonly R[]): R[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  const merged: R[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && range.from <= last.to + 1) last.to = Math.max(last.to, range.to);
    else merged.push({ ...range });
  }
  return merged;
}
