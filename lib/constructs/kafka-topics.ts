import { CustomResource, Duration, Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as msk from 'aws-cdk-lib/aws-msk';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { assertWithin, LIMITS } from '../config/limits';
import { acknowledgeFrameworkFunction } from './framework-functions';
import type { IKafkaCluster } from './kafka-cluster';
import { SurgeFunction } from './surge-function';

export interface TopicDefinition {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /**
   * Topic-level configuration, e.g. `{ 'max.message.bytes': '1048576' }`.
   * @default - the brokers' defaults
   */
  readonly configs?: Readonly<Record<string, string>>;
}

export interface KafkaTopicsProps {
  readonly cluster: IKafkaCluster;
  readonly topics: readonly TopicDefinition[];
  /**
   * `cloudformation` uses AWS::MSK::Topic (provisioned clusters); `custom-resource` creates the
   * topics from a function in the VPC (MSK Serverless, LocalStack).
   * @default - `cloudformation` for a provisioned cluster, else `custom-resource`
   */
  readonly provider?: 'cloudformation' | 'custom-resource';
  /** Needed by the custom resource: where its function runs. */
  readonly vpc?: ec2.IVpc;
  readonly securityGroup?: ec2.ISecurityGroup;
  /** Client authentication of the custom resource. @default 'aws-iam' */
  readonly auth?: 'aws-iam' | 'none';
  /**
   * What happens to the topics when they leave the template or the stack is deleted. Retain them
   * wherever the cluster is retained: a deleted topic takes its records with it.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Days the custom resource's logs (its function and the provider framework's) are kept.
   * @default 14
   */
  readonly logRetentionDays?: number;
}

/** The pipeline's topics as code; automatic topic creation stays off on the brokers. */
export class KafkaTopics extends Construct {
  constructor(scope: Construct, id: string, props: KafkaTopicsProps) {
    super(scope, id);
    for (const topic of props.topics) {
      if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic.name)) throw new Error(`invalid topic name "${topic.name}"`);
      assertWithin(`topic ${topic.name}: partitions`, topic.partitions, LIMITS.topicPartitions);
    }
    const provider =
      props.provider ?? (props.cluster.mode === 'provisioned' ? 'cloudformation' : 'custom-resource');
    if (provider === 'cloudformation') {
      for (const topic of props.topics) {
        new msk.CfnTopic(this, topic.name, {
          clusterArn: props.cluster.clusterArn,
          topicName: topic.name,
          partitionCount: topic.partitions,
          replicationFactor: topic.replicationFactor,
          ...(topic.configs === undefined ? {} : { configs: Fn.base64(JSON.stringify(topic.configs)) }),
        }).applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
      }
      return;
    }
    if (props.vpc === undefined || props.securityGroup === undefined) {
      throw new Error('the custom-resource topic provider needs vpc and securityGroup');
    }
    const onEvent = new SurgeFunction(this, 'OnEvent', {
      entry: 'functions/topics/handler.ts',
      description: 'Creates the Surge topics where AWS::MSK::Topic is not available',
      vpc: props.vpc,
      securityGroup: props.securityGroup,
      memorySize: 512,
      timeout: Duration.minutes(2),
      logRetention: props.logRetentionDays ?? 14,
    });
    props.cluster.grantManageTopics(
      onEvent,
      props.topics.map((t) => t.name),
    );
    props.cluster.connections.allowDefaultPortFrom(onEvent, 'Topic custom resource to brokers');
    const topicsProvider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent.function,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', {
        retention: (props.logRetentionDays ?? 14) as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    acknowledgeFrameworkFunction(topicsProvider, 'custom-resource framework');
    Validations.of(topicsProvider).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::<TopicsOnEventFunctionA4973DA8.Arn>:*]',
      reason: 'The framework invokes any version of the one topic function it fronts',
    });
    new CustomResource(this, 'Resource', {
      serviceToken: topicsProvider.serviceToken,
      resourceType: 'Custom::SurgeKafkaTopics',
      properties: {
        ClusterArn: props.cluster.clusterArn,
        // Looked up by an AwsCustomResource (outside the VPC): the function in the isolated subnets
        // has no route to the Kafka control plane, only to the brokers.
        BootstrapBrokers: props.cluster.bootstrapBrokers(props.auth ?? 'aws-iam'),
        Auth: props.auth ?? 'aws-iam',
        Topics: props.topics,
      },
    });
  }
}
