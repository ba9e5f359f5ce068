import type { Kafka } from 'kafkajs';
import type { BatchProcessor } from '../functions/analytics/processor';
import { type SourceRecord, topicPartition } from '../functions/shared/msk/event';
import { recordsOfFailureDocument } from '../functions/shared/msk/on-failure';
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
