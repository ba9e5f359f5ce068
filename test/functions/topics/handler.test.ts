import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler, type TopicSpec, topicChangeProblems } from '../../../functions/topics/handler';
import { type MockKafka, startMockKafka } from '../../../local/kafka/mock-cluster';

const CLUSTER_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/surge/abc';

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  brokers: string,
  topics: readonly TopicSpec[],
): CloudFormationCustomResourceEvent {
  return {
    RequestType: requestType,
    ServiceToken: 'token',
    ResponseURL: 'https://example.com',
    StackId: 'stack',
    RequestId: 'request',
    LogicalResourceId: 'Topics',
    ResourceType: 'Custom::SurgeKafkaTopics',
    ...(requestType === 'Create'
      ? {}
      : { PhysicalResourceId: `${CLUSTER_ARN}/topics`, OldResourceProperties: {} }),
    // CloudFormation hands every property over as a string.
    ResourceProperties: {
      ServiceToken: 'token',
      ClusterArn: CLUSTER_ARN,
      BootstrapBrokers: brokers,
      Auth: 'none',
      Topics: topics.map((t) => ({
        ...t,
        partitions: String(t.partitions),
        replicationFactor: String(t.replicationFactor),
      })),
    },
  } as unknown as CloudFormationCustomResourceEvent;
}

describe('the topics custom resource', () => {
  let kafka: MockKafka;
  let admin: ReturnType<Kafka['admin']>;

  beforeAll(async () => {
    kafka = await startMockKafka({ brokers: 1, topics: [{ name: 'surge-a', partitions: 4 }] });
    admin = new Kafka({ brokers: [kafka.bootstrapServers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
    await kafka.stop();
  });

  // librdkafka's mock cluster has no CreateTopics or CreatePartitions API and no controller, so
  // creating and growing topics is not exercised here; reading what exists is.
  it('reads the topics from the brokers it is handed, with no call to the Kafka control plane', async () => {
    // No AWS credentials or region here: a GetBootstrapBrokers call would fail the request.
    const result = await handler(
      event('Update', kafka.bootstrapServers, [{ name: 'surge-a', partitions: 4, replicationFactor: 1 }]),
    );
    expect(result.PhysicalResourceId).toBe(`${CLUSTER_ARN}/topics`);
  });

  it('refuses a replication factor change or fewer partitions, naming the topic, and changes nothing', async () => {
    await expect(
      handler(
        event('Update', kafka.bootstrapServers, [{ name: 'surge-a', partitions: 2, replicationFactor: 3 }]),
      ),
    ).rejects.toThrow(/surge-a has 4 partitions.*surge-a has replication factor 1, not 3/);
    expect((await admin.fetchTopicMetadata({ topics: ['surge-a'] })).topics[0]?.partitions).toHaveLength(4);
  });

  it('keeps the topics on delete', async () => {
    await handler(
      event('Delete', kafka.bootstrapServers, [{ name: 'surge-a', partitions: 4, replicationFactor: 1 }]),
    );
    expect(await admin.listTopics()).toContain('surge-a');
  });

  it('fails clearly when it is handed no brokers', async () => {
    await expect(handler(event('Create', '', []))).rejects.toThrow(/no BootstrapBrokers/);
  });
});

describe('topicChangeProblems', () => {
  it('accepts the same or more partitions at the same replication factor', () => {
    const partitions = [{ replicas: [1, 2] }, { replicas: [2, 3] }];
    expect(topicChangeProblems({ name: 't', partitions: 2, replicationFactor: 2 }, partitions)).toEqual([]);
    expect(topicChangeProblems({ name: 't', partitions: 6, replicationFactor: 2 }, partitions)).toEqual([]);
  });
});
