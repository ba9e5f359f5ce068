import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import { DEAD_LETTER_HEADROOM_BYTES, FAILED_TOPIC_FACTOR, type StageConfig } from '../config/stage-config';
import { KafkaCluster } from '../constructs/kafka-cluster';
import { KafkaTopics } from '../constructs/kafka-topics';

export interface StreamingStackProps extends StackProps {
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly brokerSecurityGroup: ec2.ISecurityGroup;
  /** Where the topic custom resource runs, when one is needed. */
  readonly functionSecurityGroup: ec2.ISecurityGroup;
}

/**
 * What each topic takes: any record the input topic accepted must fit the dead-letter topic with
 * Surge's headers, and the failure topic as AWS's JSON document (the record in base64, metadata).
 */
export function maxMessageBytes(role: keyof StageConfig['topics'], input: number): number {
  if (role === 'deadLetter') return input + DEAD_LETTER_HEADROOM_BYTES;
  if (role === 'failed') return input * FAILED_TOPIC_FACTOR + DEAD_LETTER_HEADROOM_BYTES;
  return input;
}

/** The MSK cluster and the pipeline's five topics. */
export class StreamingStack extends Stack {
  readonly cluster: KafkaCluster;

  constructor(scope: Construct, id: string, props: StreamingStackProps) {
    super(scope, id, props);
    const { config } = props;
    const k = config.kafka;
    this.cluster = new KafkaCluster(this, 'Cluster', {
      vpc: props.vpc,
      securityGroup: props.brokerSecurityGroup,
      mode: k.mode,
      kafkaVersion: k.kafkaVersion,
      brokerInstanceType: k.brokerInstanceType,
      brokersPerAz: k.brokersPerAz,
      volumeSizeGiB: k.volumeSizeGiB,
      enhancedMonitoring: config.stage === 'prod' ? 'PER_TOPIC_PER_BROKER' : 'PER_BROKER',
      brokerProperties: {
        'auto.create.topics.enable': false,
        'default.replication.factor': k.replicationFactor,
        'min.insync.replicas': k.minInsyncReplicas,
        'offsets.topic.replication.factor': k.replicationFactor,
        'transaction.state.log.replication.factor': k.replicationFactor,
        'transaction.state.log.min.isr': k.minInsyncReplicas,
        'num.partitions': k.partitions,
        'log.retention.hours': k.retentionHours,
        'unclean.leader.election.enable': false,
        // Producers choose the codec (the functions use gzip in prod); brokers keep it as sent.
        'compression.type': 'producer',
        'num.io.threads': k.numIoThreads,
        'num.network.threads': k.numNetworkThreads,
      },
      removalPolicy: config.dataRemoval === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      logRetentionDays: config.logRetentionDays,
    });
    const removalPolicy = config.dataRemoval === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    new KafkaTopics(this, 'Topics', {
      cluster: this.cluster,
      removalPolicy,
      provider: config.localstack || k.mode === 'serverless' ? 'custom-resource' : 'cloudformation',
      vpc: props.vpc,
      securityGroup: props.functionSecurityGroup,
      auth: config.localstack ? 'none' : 'aws-iam',
      logRetentionDays: config.logRetentionDays,
      topics: Object.entries(config.topics).map(([role, name]) => ({
        name,
        partitions: k.partitions,
        replicationFactor: k.mode === 'serverless' ? 3 : k.replicationFactor,
        configs: {
          'max.message.bytes': String(
            maxMessageBytes(role as keyof StageConfig['topics'], k.maxMessageBytes),
          ),
        },
      })),
    });
    // For people (README, "Deploying for real"); other stacks read the SSM parameter instead.
    new CfnOutput(this, 'ClusterArn', { value: this.cluster.clusterArn });
  }
}
