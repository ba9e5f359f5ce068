import type { PartitionDelta } from '../domain/deltas';
import type { WatermarkGap } from '../shared/errors';

/**
 * Where the store stands against where a batch starts, per topic-partition: a batch that starts
 * past it would move the watermarks over records that were delivered and never applied, so the
 * processor refuses it (StoreBehindError). Pure functions.
 */

/**
 * Partitions whose batch starts more than `tolerance` offsets past the store's watermark. Offsets
 * of one partition are contiguous but for transaction markers, so a larger jump means records that
 * Kafka has committed are missing from the store. A partition without a watermark is left to originGaps.
 */
export function watermarkGaps(
  standing: ReadonlyMap<string, number>,
  partitions: readonly PartitionDelta[],
  tolerance: number,
): WatermarkGap[] {
  const gaps: WatermarkGap[] = [];
  for (const { topicPartition: tp, minOffset: start } of partitions) {
    const watermark = standing.get(tp) ?? -1;
    if (watermark >= 0 && start - watermark - 1 > tolerance) {
      gaps.push({ topicPartition: tp, storeWatermark: watermark, batchStart: start });
    }
  }
  return gaps;
}

/**
 * Partitions the store has nothing of whose batch starts more than `tolerance` offsets past where
 * their log begins (`earliest`): the records before were delivered and not applied.
 */
export function originGaps(
  earliest: ReadonlyMap<string, number>,
  unseen: readonly PartitionDelta[],
  tolerance: number,
): WatermarkGap[] {
  const gaps: WatermarkGap[] = [];
  for (const { topicPartition: tp, minOffset: start } of unseen) {
    const logStart = earliest.get(tp);
    if (logStart !== undefined && start - logStart > tolerance) {
      gaps.push({ topicPartition: tp, storeWatermark: -1, batchStart: start, logStart });
    }
  }
  return gaps;
}
