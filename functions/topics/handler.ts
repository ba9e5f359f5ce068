import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Kafka } from 'kafkajs';
import { DEFAULTS, type KafkaAuth } from '../shared/config';
import { resolveBrokers } from '../shared/kafka/brokers';
import { kafkaClientConfig } from '../shared/kafka/publisher';

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs?: Readonly<Record<string, string>>;
}

interface TopicsProperties {
  readonly ClusterArn: string;
  readonly Auth: KafkaAuth;
  readonly Topics: readonly TopicSpec[];
}

/**
 * Custom resource that creates topics where AWS::MSK::Topic is not available (MSK Serverless,
 * LocalStack). Create and Update add missing topics and raise partition counts; Delete keeps the
 * topics, since deleting them would drop their data.
 */
export async function handler(
  event: CloudFormationCustomResourceEvent,
): Promise<{ PhysicalResourceId: string }> {
  const props = event.ResourceProperties as unknown as TopicsProperties & { ServiceToken: string };
  const physicalId = `${props.ClusterArn}/topics`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: physicalId };

  const settings = {
    auth: props.Auth,
    clusterArn: props.ClusterArn,
    idempotent: false,
    compression: 'none' as const,
    clientId: 'surge-topics',
    region: process.env.AWS_REGION,
    maxMessageBytes: DEFAULTS.kafkaMaxMessageBytes,
  };
  const admin = new Kafka(kafkaClientConfig(settings, await resolveBrokers(settings))).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = props.Topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: Number(t.partitions),
          replicationFactor: Number(t.replicationFactor),
          configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({
            name,
            value: String(value),
          })),
        })),
      });
    }
    const present = props.Topics.filter((t) => existing.has(t.name));
    if (present.length > 0) {
      const metadata = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
      const grow = present.filter((t) => {
        const current = metadata.topics.find((m) => m.name === t.name)?.partitions.length ?? 0;
        return current < Number(t.partitions);
      });
      if (grow.length > 0) {
        await admin.createPartitions({
          topicPartitions: grow.map((t) => ({ topic: t.name, count: Number(t.partitions) })),
        });
      }
    }
  } finally {
    await admin.disconnect();
  }
  return { PhysicalResourceId: physicalId };
}
