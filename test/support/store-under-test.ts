import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { RedisAnalyticsStore } from '../../functions/shared/redis/analytics-store';
import { startRedis } from '../../local/redis/redis-server';

/**
 * A real redis-server for the file's tests, started once and emptied before each test, with a
 * store over it (key prefix `surge`, one-hour windows). Read `redis` and `store` inside tests.
 */
export function storeUnderTest(): { readonly redis: Redis; readonly store: RedisAnalyticsStore } {
  let stop: (() => Promise<void>) | undefined;
  const current: { redis?: Redis; store?: RedisAnalyticsStore } = {};
  beforeAll(async () => {
    const local = await startRedis();
    stop = () => local.stop();
    current.redis = new Redis(local.url);
    current.store = new RedisAnalyticsStore(current.redis, { keyPrefix: 'surge', windowTtlSeconds: 3600 });
  });
  afterAll(async () => {
    current.redis?.disconnect();
    await stop?.();
  });
  beforeEach(async () => {
    await current.redis?.flushall();
  });
  return {
    get redis() {
      return current.redis as Redis;
    },
    get store() {
      return current.store as RedisAnalyticsStore;
    },
  };
}
