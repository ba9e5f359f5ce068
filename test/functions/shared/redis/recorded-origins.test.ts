import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisError } from '../../../../functions/shared/errors';
import { keySpace, STATS_FIELDS } from '../../../../functions/shared/redis/layout';
import { RecordedPartitionOrigins } from '../../../../functions/shared/redis/recorded-origins';
import { storeUnderTest } from '../../../support/store-under-test';

/** Where a LATEST mapping began each partition, recorded in the stats hash of a real redis-server. */

const server = storeUnderTest();
const keys = keySpace('surge');
const start = (partition: number, firstOffset: number) => ({ topic: 'iot-data', partition, firstOffset });

describe('recorded partition origins', () => {
  it("records a partition's first batch start where none is, and keeps it against every later batch", async () => {
    const origins = new RecordedPartitionOrigins(server.redis, 'surge');
    expect(await origins.earliest([start(0, 40), start(1, 7)])).toEqual(
      new Map([
        ['iot-data-0', 40],
        ['iot-data-1', 7],
      ]),
    );
    // A retry of that batch, a later one, a replay of an earlier one: the first record stands.
    expect(await origins.earliest([start(0, 40)])).toEqual(new Map([['iot-data-0', 40]]));
    expect(await origins.earliest([start(0, 95), start(1, 3)])).toEqual(
      new Map([
        ['iot-data-0', 40],
        ['iot-data-1', 7],
      ]),
    );
    expect(await server.redis.hget(keys.stats, STATS_FIELDS.origin('iot-data-0'))).toBe('40');
    // The fleet totals read past it.
    expect(await server.store.stats()).toMatchObject({ records: 0 });
  });

  it.each([['not-a-number'], ['-1'], ['1.5'], ['']])(
    'fails with a RedisError naming the field when what is recorded is %j, not an offset',
    async (spoiled) => {
      await server.redis.hset(keys.stats, STATS_FIELDS.origin('iot-data-0'), spoiled);
      const origins = new RecordedPartitionOrigins(server.redis, 'surge');
      const failure = origins.earliest([start(0, 3)]);
      await expect(failure).rejects.toThrow(RedisError);
      await expect(failure).rejects.toThrow(/stats field o:iot-data-0 is not an offset/);
    },
  );

  it('fails with a RedisError when the store cannot be reached, recording nothing', async () => {
    const unreachable = new Redis({
      port: 1,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    unreachable.on('error', () => undefined);
    try {
      await expect(
        new RecordedPartitionOrigins(unreachable, 'surge').earliest([start(0, 3)]),
      ).rejects.toThrow(/Redis failed to record where partitions begin/);
    } finally {
      unreachable.disconnect();
    }
  });

  it('asks nothing of the store for no partitions', async () => {
    const origins = new RecordedPartitionOrigins(server.redis, 'surge');
    expect(await origins.earliest([])).toEqual(new Map());
    expect(await server.redis.exists(keys.stats)).toBe(0);
  });
});
