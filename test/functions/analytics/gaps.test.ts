import { describe, expect, it } from 'vitest';
import { originGaps, watermarkGaps } from '../../../functions/analytics/gaps';
import type { PartitionDelta } from '../../../functions/domain/deltas';
import { StoreBehindError } from '../../../functions/shared/errors';

const partition = (topicPartition: string, minOffset: number): PartitionDelta => ({
  topicPartition,
  minOffset,
  maxOffset: minOffset + 9,
  applied: 10,
  quarantined: {},
});

describe('originGaps', () => {
  it('finds a partition whose batch starts past where its log begins, by more than the tolerance', () => {
    const earliest = new Map([
      ['t-0', 100],
      ['t-1', 100],
      ['t-2', 100],
    ]);
    const gaps = originGaps(
      earliest,
      [partition('t-0', 100), partition('t-1', 102), partition('t-2', 101)],
      1,
    );
    expect(gaps).toEqual([{ topicPartition: 't-1', storeWatermark: -1, batchStart: 102, logStart: 100 }]);
  });

  it('takes a batch that starts before the log begins (retention moved it on while the batch waited)', () => {
    expect(originGaps(new Map([['t-0', 500]]), [partition('t-0', 400)], 0)).toEqual([]);
  });
});

describe('watermarkGaps', () => {
  it('leaves a partition without a watermark to originGaps', () => {
    expect(watermarkGaps(new Map([['t-0', -1]]), [partition('t-0', 50), partition('t-1', 50)], 0)).toEqual(
      [],
    );
  });

  it('finds a batch that starts past the watermark by more than the tolerance', () => {
    expect(watermarkGaps(new Map([['t-0', 9]]), [partition('t-0', 12)], 1)).toEqual([
      { topicPartition: 't-0', storeWatermark: 9, batchStart: 12 },
    ]);
  });
});

describe('StoreBehindError', () => {
  it('names the offset to rebuild from: the log start for a partition the store has nothing of', () => {
    const error = new StoreBehindError([
      { topicPartition: 't-0', storeWatermark: 9, batchStart: 12 },
      { topicPartition: 't-1', storeWatermark: -1, batchStart: 40, logStart: 7 },
    ]);
    expect(error.message).toBe(
      'the store is behind the batch: t-0 has offsets up to 9 applied, the batch starts at 12: rebuild t-0 from 10; ' +
        't-1 has nothing applied and its log begins at 7, the batch starts at 40: rebuild t-1 from 7',
    );
  });
});
