import { Redis } from 'ioredis';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchFactory } from '../../bench/fixtures';
import { naiveHandler } from '../../bench/naive-handler';
import { SchemaRegistry } from '../../functions/shared/avro/schema-registry';
import { parseMskEvent } from '../../functions/shared/msk/event';
import { type Infrastructure, startInfrastructure, topicEnd } from '../support/infrastructure';

const registry = SchemaRegistry.fromDirectory();
let infra: Infrastructure;
let redis: Redis;
let producer: Producer;

beforeAll(async () => {
  infra = await startInfrastructure();
  redis = new Redis(infra.redis.url);
  producer = new Kafka({ brokers: infra.kafka.brokers, logLevel: logLevel.NOTHING }).producer({
    idempotent: false,
  });
  await producer.connect();
}, 60_000);

afterAll(async () => {
  await producer?.disconnect();
  redis?.disconnect();
  await infra?.stop();
});

const sum = (offsets: Map<number, number>) => [...offsets.values()].reduce((a, b) => a + b, 0);

describe('naive reference handler', () => {
  it('makes one Redis write and one produce per record, as a hand-written consumer would', async () => {
    const event = new BatchFactory(registry, 5, 11).event(30, 'json');
    const perDevice = new Map<string, number>();
    for (const record of parseMskEvent(event)) {
      const device = (record.key as Buffer).toString('utf8');
      perDevice.set(device, (perDevice.get(device) ?? 0) + 1);
    }
    const before = sum(await topicEnd(infra.kafka.bootstrapServers, 'processed-data'));
    await redis.config('RESETSTAT');

    await naiveHandler(redis, producer)(event);

    const commandstats = await redis.info('commandstats');
    expect(/cmdstat_hincrby:calls=(\d+)/.exec(commandstats)?.[1]).toBe('30');
    for (const [device, count] of perDevice) {
      expect(await redis.hget(`naive:dev:${device}`, 'count')).toBe(String(count));
    }
    expect(sum(await topicEnd(infra.kafka.bootstrapServers, 'processed-data')) - before).toBe(30);
  }, 60_000);
});
