import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockKafka, startMockKafka } from '../../local/kafka/mock-cluster';
import { topicEnd } from '../support/infrastructure';

let cluster: MockKafka;

beforeAll(async () => {
  cluster = await startMockKafka({ brokers: 3, topics: [{ name: 'created-at-start', partitions: 4 }] });
});

afterAll(async () => {
  await cluster?.stop();
});

function producer() {
  return new Kafka({
    brokers: cluster.brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
    connectionTimeout: 500,
  }).producer({ idempotent: false, allowAutoTopicCreation: false });
}

describe('mock Kafka cluster', () => {
  it('serves the Kafka protocol on loopback with the topics asked for', async () => {
    expect(cluster.brokers).toHaveLength(3);
    for (const broker of cluster.brokers) expect(broker).toMatch(/^127\.0\.0\.1:\d+$/);
    const end = await topicEnd(cluster.bootstrapServers, 'created-at-start');
    expect([...end.keys()].sort()).toEqual([0, 1, 2, 3]);
  });

  it('creates topics on command and takes produce requests', async () => {
    await cluster.createTopic({ name: 'made-later', partitions: 2 });
    const p = producer();
    await p.connect();
    await p.send({ topic: 'made-later', acks: -1, messages: [{ key: 'k', value: 'v', partition: 1 }] });
    await p.disconnect();
    expect((await topicEnd(cluster.bootstrapServers, 'made-later')).get(1)).toBe(1);
  });

  it('fails requests while its brokers are down and serves again once they are up', async () => {
    const p = producer();
    await p.connect();
    await cluster.setBrokerDown(-1);
    await expect(p.send({ topic: 'created-at-start', messages: [{ value: 'lost?' }] })).rejects.toThrow();
    await cluster.setBrokerUp(-1);
    await p.send({ topic: 'created-at-start', messages: [{ value: 'back', partition: 0 }] });
    await p.disconnect();
    expect((await topicEnd(cluster.bootstrapServers, 'created-at-start')).get(0)).toBe(1);
  });

  it('refuses a command it does not understand', async () => {
    await expect(cluster.createTopic({ name: 'bad', partitions: 0 })).rejects.toThrow(/refused/);
  });
});
