import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PartitionDelta } from '../../../../functions/domain/deltas';
import { RedisAnalyticsStore } from '../../../../functions/shared/redis/analytics-store';
import { keySpace, STATS_FIELDS } from '../../../../functions/shared/redis/layout';
import { type LocalRedis, startRedis } from '../../../../local/redis/redis-server';

/** The stats script (stats-script.ts) through the store, against a real redis-server. */

let local: LocalRedis;
let redis: Redis;
let store: RedisAnalyticsStore;
const keys = keySpace('surge');

beforeAll(async () => {
  local = await startRedis();
  redis = new Redis(local.url);
  store = new RedisAnalyticsStore(redis, { keyPrefix: 'surge', windowTtlSeconds: 3600 });
});

afterAll(async () => {
  redis?.disconnect();
  await local?.stop();
});

beforeEach(async () => {
  await redis.flushall();
});

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
  (await store.apply({ devices: [], partitions })).partitions;

describe('the stats script', () => {
  it('adds each partition once, and answers duplicate for a repeat', async () => {
    expect(await applyStats(partition('iot-data-0', 0, 9, 2), partition('iot-data-1', 0, 4))).toEqual([
      { kind: 'applied' },
      { kind: 'applied' },
    ]);
    expect(await applyStats(partition('iot-data-0', 0, 9, 2))).toEqual([{ kind: 'duplicate' }]);
    expect(await store.stats()).toMatchObject({ records: 13, quarantined: { DECODE_ERROR: 2 } });
    expect(await redis.hget(keys.stats, STATS_FIELDS.watermark('iot-data-0'))).toBe('9');
  });

  it('answers PARTIAL with the watermark for a range that overlaps what was applied, and adds nothing', async () => {
    await applyStats(partition('iot-data-0', 0, 9));
    expect(await applyStats(partition('iot-data-0', 5, 14))).toEqual([{ kind: 'partial', watermark: 9 }]);
    // A range that starts at the watermark overlaps it by one offset.
    expect(await applyStats(partition('iot-data-0', 9, 14))).toEqual([{ kind: 'partial', watermark: 9 }]);
    expect((await store.stats()).records).toBe(10);
  });

  it('fails the whole call, writing nothing, when a watermark is not a number', async () => {
    await redis.hset(keys.stats, STATS_FIELDS.watermark('iot-data-1'), 'garbage');
    await expect(applyStats(partition('iot-data-0', 0, 9), partition('iot-data-1', 0, 9))).rejects.toThrow(
      /stats watermark w:iot-data-1 is not a number: garbage/,
    );
    expect(await redis.hgetall(keys.stats)).toEqual({ [STATS_FIELDS.watermark('iot-data-1')]: 'garbage' });
  });

  it('loads its script again when Redis has lost it (NOSCRIPT) and adds the batch once', async () => {
    await applyStats(partition('iot-data-0', 0, 9));
    await redis.script('FLUSH');
    expect(await applyStats(partition('iot-data-0', 10, 19))).toEqual([{ kind: 'applied' }]);
    expect((await store.stats()).records).toBe(20);
  });
});
