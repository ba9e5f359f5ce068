import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyticsContainer } from '../../../../functions/analytics/container';
import { createAnalyticsHandler } from '../../../../functions/analytics/handler';
import { createQueryHandler } from '../../../../functions/query/handler';
import { DEFAULT_TOPICS } from '../../../../functions/shared/config';
import { readerAccess, writerAccess } from '../../../../functions/shared/redis/acl';
import { RedisAnalyticsStore } from '../../../../functions/shared/redis/analytics-store';
import { apiGatewayEvent } from '../../../../local/api-gateway-event';
import { type MockKafka, startMockKafka } from '../../../../local/kafka/mock-cluster';
import { buildMskEvent } from '../../../../local/msk-event';
import { type LocalRedis, startRedis } from '../../../../local/redis/redis-server';
import { telemetry, telemetryRecord } from '../../../support/records';

/** The functions under the access strings the cache construct deploys, on a real redis-server. */
let redis: LocalRedis;
let kafka: MockKafka;
let admin: Redis;

beforeAll(async () => {
  [redis, kafka] = await Promise.all([
    startRedis(),
    startMockKafka({ topics: Object.values(DEFAULT_TOPICS).map((name) => ({ name, partitions: 1 })) }),
  ]);
  admin = new Redis(redis.url);
  await admin.call('ACL', 'SETUSER', 'surge', ...writerAccess('surge').split(' '), '>writer-secret');
  await admin.call('ACL', 'SETUSER', 'surge-reader', ...readerAccess('surge').split(' '), '>reader-secret');
});

afterAll(async () => {
  admin?.disconnect();
  await Promise.all([redis?.stop(), kafka?.stop()]);
});

const url = (user: string, password: string) => `redis://${user}:${password}@127.0.0.1:${redis.port}`;

describe('least-privilege cache users', () => {
  it('lets the analytics function apply batches as the writer and the query function answer as the reader', async () => {
    const container = createAnalyticsContainer({
      REDIS_URL: url('surge', 'writer-secret'),
      KAFKA_BROKERS: kafka.bootstrapServers,
      KAFKA_IDEMPOTENT: 'false',
    });
    try {
      const analytics = createAnalyticsHandler({ container: () => container });
      await analytics(buildMskEvent([telemetryRecord(telemetry({ deviceId: 'acl-1' }), { offset: 0 })]));
    } finally {
      await container.close();
    }
    const readerClient = new Redis(url('surge-reader', 'reader-secret'));
    try {
      const query = createQueryHandler({
        reader: () => new RedisAnalyticsStore(readerClient, { keyPrefix: 'surge', windowTtlSeconds: 0 }),
      });
      for (const path of ['/devices/acl-1', '/devices/acl-1/windows', '/stats']) {
        const response = await query(apiGatewayEvent('GET', path));
        expect(response.statusCode, `${path}: ${response.body}`).toBe(200);
      }
      expect(JSON.parse((await query(apiGatewayEvent('GET', '/devices/acl-1'))).body).count).toBe(1);
    } finally {
      readerClient.disconnect();
    }
  });

  it('refuses the reader every write and the writer keys outside its prefix and server commands', async () => {
    const reader = new Redis(url('surge-reader', 'reader-secret'));
    const writer = new Redis(url('surge', 'writer-secret'));
    try {
      await expect(reader.set('surge:dev:{x}', 'y')).rejects.toThrow(/NOPERM/);
      await expect(reader.zrem('surge:wbs:{x}', '1')).rejects.toThrow(/NOPERM/);
      await expect(reader.evalsha('0'.repeat(40), 0)).rejects.toThrow(/NOPERM/);
      await expect(reader.get('other:key')).rejects.toThrow(/NOPERM/);
      await expect(writer.set('other:key', 'y')).rejects.toThrow(/NOPERM/);
      await expect(writer.flushall()).rejects.toThrow(/NOPERM/);
      await expect(writer.config('GET', 'maxmemory')).rejects.toThrow(/NOPERM/);
      await expect(writer.script('FLUSH')).rejects.toThrow(/NOPERM/);
      expect(await writer.set('surge:probe', '1')).toBe('OK');
    } finally {
      reader.disconnect();
      writer.disconnect();
    }
  });
});
