import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import { KafkaCluster } from '../constructs/kafka-cluster';
import { KafkaTopics } from '../constructs/kafka-topics';

export interface StreamingStackProps extends StackProps {
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly brokerSecurityGroup: ec2.ISecurityGroup;
  /** Where the topic custom resource runs, when one is needed. */
  readonly functionSecurityGroup: ec2.ISecurityGroup;
}

/** The MSK cluster and the pipeline's four topics. */
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
    });
    new KafkaTopics(this, 'Topics', {
      cluster: this.cluster,
      provider: config.localstack || k.mode === 'serverless' ? 'custom-resource' : 'cloudformation',
      vpc: props.vpc,
      securityGroup: props.functionSecurityGroup,
      auth: config.localstack ? 'none' : 'aws-iam',
      topics: Object.values(config.topics).map((name) => ({
        name,
        partitions: k.partitions,
        replicationFactor: k.mode === 'serverless' ? 3 : k.replicationFactor,
      })),
    });
  }
}
