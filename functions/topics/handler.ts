import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Kafka } from 'kafkajs';
import { DEFAULTS, type KafkaAuth } from '../shared/config';
import { kafkaClientConfig } from '../shared/kafka/publisher';

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs?: Readonly<Record<string, string>>;
}

interface TopicsProperties {
  readonly ClusterArn: string;
  /**
   * The cluster's bootstrap brokers, looked up at deploy time outside the VPC: this function runs
   * in isolated subnets, where the Kafka control plane (GetBootstrapBrokers) is out of reach.
   */
  readonly BootstrapBrokers: string;
  readonly Auth: KafkaAuth;
  readonly Topics: readonly TopicSpec[];
}

/**
 * What Kafka cannot do to an existing topic in place: fewer partitions (records would change
 * partition), or another replication factor (a partition reassignment, README "Deploying for real").
 */
export function topicChangeProblems(
  wanted: TopicSpec,
  partitions: readonly { readonly replicas: readonly number[] }[],
): string[] {
  const problems: string[] = [];
  if (partitions.length > Number(wanted.partitions)) {
    problems.push(
      `topic ${wanted.name} has ${partitions.length} partitions; Kafka cannot lower them to ${wanted.partitions}`,
    );
  }
  const replicationFactor = partitions[0]?.replicas.length;
  if (replicationFactor !== undefined && replicationFactor !== Number(wanted.replicationFactor)) {
    problems.push(
      `topic ${wanted.name} has replication factor ${replicationFactor}, not ${wanted.replicationFactor}: ` +
        'change it with a partition reassignment, not by replacing the topic (README, "Deploying for real")',
    );
  }
  return problems;
}

/**
 * Custom resource that creates topics where AWS::MSK::Topic is not available (MSK Serverless,
 * LocalStack). Create and Update add missing topics and raise partition counts, and refuse what
 * Kafka cannot change in place; Delete keeps the topics, since deleting them would drop their data.
 */
export async function handler(
  event: CloudFormationCustomResourceEvent,
): Promise<{ PhysicalResourceId: string }> {
  const props = event.ResourceProperties as unknown as TopicsProperties & { ServiceToken: string };
  const physicalId = `${props.ClusterArn}/topics`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: physicalId };

  const brokers = String(props.BootstrapBrokers ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new Error(`no BootstrapBrokers for ${props.ClusterArn}`);
  const settings = {
    auth: props.Auth,
    idempotent: false,
    compression: 'none' as const,
    clientId: 'surge-topics',
    region: process.env.AWS_REGION,
    maxMessageBytes: DEFAULTS.kafkaMaxMessageBytes,
  };
  const admin = new Kafka(kafkaClientConfig(settings, brokers)).admin();
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
      const current = new Map(metadata.topics.map((m) => [m.name, m.partitions]));
      const problems = present.flatMap((t) => topicChangeProblems(t, current.get(t.name) ?? []));
      // Refused before anything changes: a half-applied update would be harder to reason about.
      if (problems.length > 0) throw new Error(problems.join('; '));
      const grow = present.filter((t) => (current.get(t.name)?.length ?? 0) < Number(t.partitions));
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
