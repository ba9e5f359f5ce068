import { describe, expect, it } from 'vitest';
import type { PartitionDelta } from '../../../../functions/domain/deltas';
import { keySpace, STATS_FIELDS } from '../../../../functions/shared/redis/layout';
import { storeUnderTest } from '../../../support/store-under-test';

/** The stats script (stats-script.ts) through the store, against a real redis-server. */

const server = storeUnderTest();
const keys = keySpace('surge');

function partition(tp: string, minOffset: number, maxOffset: number, invalid = 0): PartitionDelta {
  const applied = maxOffset - minOffset + 1 - invalid;
  return {
    topicPartition: tp,
    minOffset,
    maxOffset,
    applied,
    quarantined: invalid ? { DECODE_ERROR: invalid } : {},
  };
}

const applyStats = async (...partitions: PartitionDelta[]) =>
  (await server.store.apply({ devices: [], partitions })).partitions;

describe('the stats script', () => {
  it('adds each partition once, and answers duplicate for a repeat', async () => {
    expect(await applyStats(partition('iot-data-0', 0, 9, 2), partition('iot-data-1', 0, 4))).toEqual([
      { kind: 'applied' },
      { kind: 'applied' },
    ]);
    expect(await applyStats(partition('iot-data-0', 0, 9, 2))).toEqual([{ kind: 'duplicate' }]);
    expect(await server.store.stats()).toMatchObject({ records: 13, quarantined: { DECODE_ERROR: 2 } });
    expect(await server.redis.hget(keys.stats, STATS_FIELDS.watermark('iot-data-0'))).toBe('9');
  });

  it('answers PARTIAL with the watermark for a range that overlaps what was applied, and adds nothing', async () => {
    await applyStats(partition('iot-data-0', 0, 9));
    expect(await applyStats(partition('iot-data-0', 5, 14))).toEqual([{ kind: 'partial', watermark: 9 }]);
    // A range that starts at the watermark overlaps it by one offset.
    expect(await applyStats(partition('iot-data-0', 9, 14))).toEqual([{ kind: 'partial', watermark: 9 }]);
    expect((await server.store.stats()).records).toBe(10);
  });

  it('fails the whole call, writing nothing, when a watermark is not a number', async () => {
    await server.redis.hset(keys.stats, STATS_FIELDS.watermark('iot-data-1'), 'garbage');
    await expect(applyStats(partition('iot-data-0', 0, 9), partition('iot-data-1', 0, 9))).rejects.toThrow(
      /stats watermark w:iot-data-1 is not a number: garbage/,
    );
    expect(await server.redis.hgetall(keys.stats)).toEqual({
      [STATS_FIELDS.watermark('iot-data-1')]: 'garbage',
    });
  });

  it('loads its script again when Redis has lost it (NOSCRIPT) and adds the batch once', async () => {
    await applyStats(partition('iot-data-0', 0, 9));
    await server.redis.script('FLUSH');
    expect(await applyStats(partition('iot-data-0', 10, 19))).toEqual([{ kind: 'applied' }]);
    expect((await server.store.stats()).records).toBe(20);
  });
});
