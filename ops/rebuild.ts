import type { Kafka } from 'kafkajs';
import type { BatchProcessor } from '../functions/analytics/processor';
import { topicPartition } from '../functions/shared/msk/event';
import type { AnalyticsStore } from '../functions/shared/redis/analytics-store';
import { partitionBounds, partitionsOf, readPartition } from './partition-reader';
import { addOutcome, emptyTotals, type RangeTotals } from './totals';

/**
 * Rebuild: re-reads topic-partitions from Kafka through the analytics processor into the store.
 * The watermarks make it exact: what the store holds is skipped, what it lost is applied, once.
 * After a failover or a restore from a snapshot, `from: 'store'` starts each partition right after
 * the offset the store says it holds (README, "Rebuild after a failover or a restore").
 */

export interface RebuildRequest {
  readonly topic: string;
  /** The partitions to rebuild; every partition of the topic by default. */
  readonly partitions?: readonly number[];
  /** The first offset, or 'store': one past the store's watermark of each partition. */
  readonly from: number | 'store';
  /** The last offset, inclusive. @default - the last record of each partition when the rebuild starts */
  readonly to?: number;
  /** Records per processor call. @default 1000 */
  readonly batchSize?: number;
  /** Go on when records between the store's watermark and `from` are gone from Kafka (retention). */
  readonly acceptLoss?: boolean;
}

export interface PartitionRebuilt extends Readonly<RangeTotals> {
  readonly topicPartition: string;
  readonly from: number;
  readonly to: number;
}

export class RebuildError extends Error {
  override name = 'RebuildError';
}

export async function rebuild(
  request: RebuildRequest,
  deps: { readonly kafka: Kafka; readonly store: AnalyticsStore; readonly processor: BatchProcessor },
): Promise<PartitionRebuilt[]> {
  const partitions = request.partitions ?? (await partitionsOf(deps.kafka, request.topic));
  const out: PartitionRebuilt[] = [];
  for (const partition of partitions) {
    const tp = topicPartition(request.topic, partition);
    const bounds = await partitionBounds(deps.kafka, request.topic, partition);
    let from =
      request.from === 'store' ? ((await deps.store.watermarks([tp])).get(tp) ?? -1) + 1 : request.from;
    if (from < bounds.low) {
      // From a store that holds nothing of the partition, its first retained record is the start.
      const recordsLost = request.from !== 'store' || from > 0;
      if (recordsLost && !request.acceptLoss) {
        throw new RebuildError(
          `${tp}: offsets ${from} to ${bounds.low - 1} are no longer in Kafka (retention); those records cannot be rebuilt (acceptLoss to go on from ${bounds.low})`,
        );
      }
      from = bounds.low;
    }
    const to = request.to ?? bounds.high - 1;
    const totals = emptyTotals();
    await readPartition(
      deps.kafka,
      { topic: request.topic, partition, from, to, batchSize: request.batchSize ?? 1_000 },
      async (records) => {
        addOutcome(totals, await deps.processor(records));
      },
    );
    out.push({ topicPartition: tp, from, to, ...totals });
  }
  return out;
}
