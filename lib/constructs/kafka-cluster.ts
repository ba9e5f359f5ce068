import { Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as msk from 'aws-cdk-lib/aws-msk';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { assertWithin, LIMITS } from '../config/limits';
import { deployTimeLookup } from './framework-functions';
import { generationOf, SharedValue } from './shared-value';

export const KAFKA_IAM_AUTH_PORT = 9098;

export interface KafkaClusterProps {
  readonly vpc: ec2.IVpc;
  /**
   * Where the brokers run: one subnet per availability zone, and the broker count is a multiple
   * of them.
   * @see https://docs.aws.amazon.com/msk/latest/developerguide/msk-create-cluster.html
   * @default - the VPC's isolated subnets, one per availability zone
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Group of the brokers; the event source mapping's pollers use it too. */
  readonly securityGroup: ec2.ISecurityGroup;
  /**
   * Provisioned brokers, or MSK Serverless.
   * @default 'provisioned'
   */
  readonly mode?: 'provisioned' | 'serverless';
  /**
   * Apache Kafka version; `.kraft` versions run without ZooKeeper.
   * @default '3.9.x.kraft'
   */
  readonly kafkaVersion?: string;
  /** @default 'kafka.t3.small' */
  readonly brokerInstanceType?: string;
  /**
   * Brokers in each availability zone of the VPC's isolated subnets.
   * @default 1
   */
  readonly brokersPerAz?: number;
  /** @default 20 */
  readonly volumeSizeGiB?: number;
  /**
   * Broker properties of the cluster's MSK configuration.
   * @default - no automatic topic creation, replication 3, min.insync.replicas 2, 7 days retention
   */
  readonly brokerProperties?: Readonly<Record<string, string | number | boolean>>;
  /** @default 'PER_BROKER' */
  readonly enhancedMonitoring?: 'DEFAULT' | 'PER_BROKER' | 'PER_TOPIC_PER_BROKER' | 'PER_TOPIC_PER_PARTITION';
  /**
   * Key of the brokers' data volumes.
   * @default - a new customer-managed key with rotation
   */
  readonly encryptionKey?: kms.IKey;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly brokerLogRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Days the logs of the deploy-time broker lookup are kept.
   * @default 14
   */
  readonly logRetentionDays?: number;
}

const DEFAULT_BROKER_PROPERTIES = {
  'auto.create.topics.enable': false,
  'default.replication.factor': 3,
  'min.insync.replicas': 2,
  'unclean.leader.election.enable': false,
  'log.retention.hours': 168,
  'compression.type': 'producer',
} as const;

/** What another stack needs of a cluster (KafkaCluster.fromClusterAttributes). */
export interface KafkaClusterAttributes {
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly mode: 'provisioned' | 'serverless';
  readonly brokerCount: number;
  /** The brokers' security group, which the event source mapping's pollers use too. */
  readonly securityGroup: ec2.ISecurityGroup;
  /**
   * Days the logs of the deploy-time broker lookup are kept.
   * @default 14
   */
  readonly logRetentionDays?: number;
}

/** A cluster, defined in this stack or another: ARNs, grants, metrics and the broker lookup. */
export interface IKafkaCluster extends ec2.IConnectable {
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly mode: 'provisioned' | 'serverless';
  readonly brokerCount: number;
  bootstrapBrokers(auth?: 'aws-iam' | 'none'): string;
  topicArn(topic: string): string;
  groupArn(group: string): string;
  grantConsume(grantee: iam.IGrantable, topic: string, group: string): iam.Grant;
  grantProduce(
    grantee: iam.IGrantable,
    topics: readonly string[],
    options?: { idempotent?: boolean },
  ): iam.Grant;
  grantManageTopics(grantee: iam.IGrantable, topics: readonly string[]): iam.Grant;
  metricDiskUsed(brokerId: number, props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

abstract class KafkaClusterBase extends Construct implements IKafkaCluster {
  abstract readonly clusterArn: string;
  abstract readonly clusterName: string;
  abstract readonly mode: 'provisioned' | 'serverless';
  abstract readonly brokerCount: number;
  abstract readonly connections: ec2.Connections;
  protected abstract readonly logRetentionDays: number;

  /** `<name>/<uuid>`, the part of topic and group ARNs that names the cluster. */
  private get clusterPath(): string {
    return Fn.select(1, Fn.split(':cluster/', this.clusterArn));
  }

  /**
   * The cluster's bootstrap brokers for IAM clients (or plaintext ones), looked up at deploy time
   * from outside the VPC, so that nothing in the isolated subnets needs the Kafka control plane.
   */
  bootstrapBrokers(auth: 'aws-iam' | 'none' = 'aws-iam'): string {
    const field = auth === 'aws-iam' ? 'BootstrapBrokerStringSaslIam' : 'BootstrapBrokerString';
    const id = `BootstrapBrokers${auth === 'aws-iam' ? 'Iam' : 'Plaintext'}`;
    const lookup = deployTimeLookup(this, id, {
      call: {
        service: 'Kafka',
        action: 'getBootstrapBrokers',
        parameters: { ClusterArn: this.clusterArn },
        physicalResourceId: cr.PhysicalResourceId.of(`${id}-lookup`),
        outputPaths: [field],
      },
      resources: [this.clusterArn],
      logRetentionDays: this.logRetentionDays,
    });
    return lookup.getResponseField(field);
  }

  topicArn(topic: string): string {
    return Stack.of(this).formatArn({
      service: 'kafka',
      resource: 'topic',
      resourceName: `${this.clusterPath}/${topic}`,
    });
  }

  groupArn(group: string): string {
    return Stack.of(this).formatArn({
      service: 'kafka',
      resource: 'group',
      resourceName: `${this.clusterPath}/${group}`,
    });
  }

  /** What an event source mapping needs to consume `topic` as consumer group `group` (it uses the function's role). */
  grantConsume(grantee: iam.IGrantable, topic: string, group: string): iam.Grant {
    return grantAll(grantee, [
      [['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'], [this.clusterArn]],
      [['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'], [this.topicArn(topic)]],
      [['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'], [this.groupArn(group)]],
      [['kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers'], [this.clusterArn]],
    ]);
  }

  /** Writing to `topics` only. */
  grantProduce(
    grantee: iam.IGrantable,
    topics: readonly string[],
    options: { idempotent?: boolean } = {},
  ): iam.Grant {
    return grantAll(grantee, [
      [
        ['kafka-cluster:Connect', ...(options.idempotent ? ['kafka-cluster:WriteDataIdempotently'] : [])],
        [this.clusterArn],
      ],
      [['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'], topics.map((t) => this.topicArn(t))],
    ]);
  }

  /** Creating and describing `topics` (the topic custom resource); the brokers come from `bootstrapBrokers`. */
  grantManageTopics(grantee: iam.IGrantable, topics: readonly string[]): iam.Grant {
    return grantAll(grantee, [
      [['kafka-cluster:Connect'], [this.clusterArn]],
      [
        ['kafka-cluster:CreateTopic', 'kafka-cluster:DescribeTopic', 'kafka-cluster:AlterTopic'],
        topics.map((t) => this.topicArn(t)),
      ],
    ]);
  }

  /** Disk used by one broker's data logs, in percent. */
  metricDiskUsed(brokerId: number, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Kafka',
      metricName: 'KafkaDataLogsDiskUsed',
      dimensionsMap: { 'Cluster Name': this.clusterName, 'Broker ID': String(brokerId) },
      statistic: 'Maximum',
      ...props,
    });
  }
}

/** Statements for `grantee`, one per (actions, resources) pair, as one Grant. */
function grantAll(
  grantee: iam.IGrantable,
  statements: readonly (readonly [readonly string[], readonly string[]])[],
): iam.Grant {
  const grants = statements.map(([actions, resourceArns]) =>
    iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [...resourceArns] }),
  );
  const [first, ...rest] = grants;
  if (first === undefined) throw new Error('grantAll needs at least one statement');
  return rest.reduce((all, grant) => all.combine(grant), first);
}

class ImportedKafkaCluster extends KafkaClusterBase {
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly mode: 'provisioned' | 'serverless';
  readonly brokerCount: number;
  readonly connections: ec2.Connections;
  protected readonly logRetentionDays: number;

  constructor(scope: Construct, id: string, attrs: KafkaClusterAttributes) {
    super(scope, id);
    this.clusterArn = attrs.clusterArn;
    this.clusterName = attrs.clusterName;
    this.mode = attrs.mode;
    this.brokerCount = attrs.brokerCount;
    this.logRetentionDays = attrs.logRetentionDays ?? 14;
    this.connections = new ec2.Connections({
      securityGroups: [attrs.securityGroup],
      defaultPort: ec2.Port.tcp(KAFKA_IAM_AUTH_PORT),
    });
  }
}

/**
 * An MSK cluster reachable only with IAM authentication over TLS, in isolated subnets.
 * Grants are scoped to the exact cluster, topic and consumer-group ARNs.
 */
export class KafkaCluster extends KafkaClusterBase {
  /**
   * A cluster defined elsewhere, typically in another stack (`attributesFor`).
   */
  static fromClusterAttributes(scope: Construct, id: string, attrs: KafkaClusterAttributes): IKafkaCluster {
    return new ImportedKafkaCluster(scope, id, attrs);
  }

  readonly clusterArn: string;
  readonly mode: 'provisioned' | 'serverless';
  readonly connections: ec2.Connections;
  /**
   * The cluster name as the AWS/Kafka metrics know it. It carries the cluster's generation, so a
   * change that replaces the cluster (mode, subnets) names the new one differently: CloudFormation
   * cannot replace a resource whose name stays the same.
   */
  readonly clusterName: string;
  readonly brokerCount: number;
  /** Changes exactly when the cluster is replaced. */
  readonly generation: string;
  protected readonly logRetentionDays: number;
  private readonly securityGroup: ec2.ISecurityGroup;
  private readonly sharedArn: SharedValue;

  constructor(scope: Construct, id: string, props: KafkaClusterProps) {
    super(scope, id);
    this.logRetentionDays = props.logRetentionDays ?? 14;
    this.mode = props.mode ?? 'provisioned';
    const brokersPerAz = props.brokersPerAz ?? 1;
    const volumeSizeGiB = props.volumeSizeGiB ?? 20;
    const instanceType = props.brokerInstanceType ?? 'kafka.t3.small';
    assertWithin('brokersPerAz', brokersPerAz, LIMITS.brokersPerAz);
    assertWithin('volumeSizeGiB', volumeSizeGiB, LIMITS.volumeSizeGiB);
    if (!Token.isUnresolved(instanceType) && !/^kafka\.[a-z0-9]+\.[a-z0-9]+$/.test(instanceType)) {
      throw new Error(`brokerInstanceType must look like kafka.m7g.large, got "${instanceType}"`);
    }

    const subnets = props.vpc.selectSubnets({
      ...(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }),
      onePerAz: true,
    });
    this.securityGroup = props.securityGroup;
    this.generation = generationOf(
      this.mode,
      subnets.subnets.map((s) => s.node.path),
      props.securityGroup.node.path,
      props.encryptionKey?.node.path ?? 'own key',
    );
    this.clusterName = `${`${Stack.of(this).stackName}-${id}`
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .slice(0, 55)}-${this.generation}`;
    this.connections = new ec2.Connections({
      securityGroups: [props.securityGroup],
      defaultPort: ec2.Port.tcp(KAFKA_IAM_AUTH_PORT),
    });

    if (this.mode === 'serverless') {
      // An id of its own: a logical id never changes resource type, which CloudFormation refuses.
      const cluster = new msk.CfnServerlessCluster(this, 'Serverless', {
        clusterName: this.clusterName,
        clientAuthentication: { sasl: { iam: { enabled: true } } },
        vpcConfigs: [{ subnetIds: subnets.subnetIds, securityGroups: [props.securityGroup.securityGroupId] }],
      });
      cluster.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
      this.clusterArn = cluster.attrArn;
      this.brokerCount = 0;
    } else {
      const key =
        props.encryptionKey ??
        new kms.Key(this, 'Key', {
          description: `${this.clusterName} broker volumes`,
          enableKeyRotation: true,
          removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
        });
      const brokerLogs = new logs.LogGroup(this, 'BrokerLogs', {
        retention: props.brokerLogRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      });
      const properties = { ...DEFAULT_BROKER_PROPERTIES, ...props.brokerProperties };
      const configuration = new msk.CfnConfiguration(this, 'Configuration', {
        name: `${this.clusterName}-config`,
        description: 'Broker properties the Surge pipeline depends on',
        serverProperties: Object.entries(properties)
          .map(([name, value]) => `${name}=${value}`)
          .join('\n'),
      });
      this.brokerCount = subnets.subnetIds.length * brokersPerAz;
      const cluster = new msk.CfnCluster(this, 'Resource', {
        clusterName: this.clusterName,
        kafkaVersion: props.kafkaVersion ?? '3.9.x.kraft',
        numberOfBrokerNodes: this.brokerCount,
        brokerNodeGroupInfo: {
          instanceType,
          clientSubnets: subnets.subnetIds,
          securityGroups: [props.securityGroup.securityGroupId],
          storageInfo: { ebsStorageInfo: { volumeSize: volumeSizeGiB } },
          connectivityInfo: { publicAccess: { type: 'DISABLED' } },
        },
        clientAuthentication: { sasl: { iam: { enabled: true } }, unauthenticated: { enabled: false } },
        encryptionInfo: {
          encryptionAtRest: { dataVolumeKmsKeyId: key.keyArn },
          encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
        },
        loggingInfo: { brokerLogs: { cloudWatchLogs: { enabled: true, logGroup: brokerLogs.logGroupName } } },
        configurationInfo: {
          arn: configuration.attrArn,
          revision: Token.asNumber(configuration.attrLatestRevisionRevision),
        },
        enhancedMonitoring: props.enhancedMonitoring ?? 'PER_BROKER',
      });
      cluster.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
      this.clusterArn = cluster.attrArn;
    }
    this.sharedArn = new SharedValue(this, 'Arn', {
      value: this.clusterArn,
      generation: this.generation,
      description: `ARN of the MSK cluster ${this.clusterName}`,
      logRetentionDays: this.logRetentionDays,
    });
  }

  /**
   * What `reader`'s stack needs to use the cluster, without an export that would block replacing
   * it: the ARN is read at deploy time (SharedValue).
   */
  attributesFor(reader: Construct): KafkaClusterAttributes {
    return {
      clusterArn: this.sharedArn.valueIn(reader),
      clusterName: this.clusterName,
      mode: this.mode,
      brokerCount: this.brokerCount,
      securityGroup: this.securityGroup,
      logRetentionDays: this.logRetentionDays,
    };
  }
}
