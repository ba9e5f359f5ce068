import { RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Not 6379: AwsSolutions-AEC5 asks for a non-default port. */
export const DEFAULT_CACHE_PORT = 6380;

export interface RedisCacheProps {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  /** @default 'cache.t4g.micro' */
  readonly nodeType?: string;
  /**
   * Read replicas of the primary; at least 1 for automatic failover.
   * @default 0
   */
  readonly replicas?: number;
  /**
   * Automatic failover to a replica in another availability zone.
   * @default false
   */
  readonly multiAz?: boolean;
  /** @default DEFAULT_CACHE_PORT */
  readonly port?: number;
  /** @default 1 */
  readonly snapshotRetentionDays?: number;
  /** @default - a new customer-managed key with rotation */
  readonly encryptionKey?: kms.IKey;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A Valkey replication group (Redis OSS 7 compatible, cluster mode disabled) with TLS in transit,
 * encryption at rest and an AUTH token kept in Secrets Manager.
 */
export class RedisCache extends Construct implements ec2.IConnectable {
  readonly connections: ec2.Connections;
  /** `rediss://host:port` for the functions' REDIS_URL; the token travels separately. */
  readonly redisUrl: string;
  readonly authSecret: secretsmanager.ISecret;
  readonly replicationGroupId: string;

  constructor(scope: Construct, id: string, props: RedisCacheProps) {
    super(scope, id);
    const replicas = props.replicas ?? 0;
    const multiAz = props.multiAz ?? false;
    const port = props.port ?? DEFAULT_CACHE_PORT;
    const nodeType = props.nodeType ?? 'cache.t4g.micro';
    if (!Token.isUnresolved(replicas) && (!Number.isInteger(replicas) || replicas < 0 || replicas > 5)) {
      throw new Error(`replicas must be a whole number from 0 to 5, got ${replicas}`);
    }
    if (multiAz && replicas < 1) throw new Error('multiAz needs at least 1 replica');
    if (!Token.isUnresolved(nodeType) && !/^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(nodeType)) {
      throw new Error(`nodeType must look like cache.r7g.large, got "${nodeType}"`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.authSecret = new secretsmanager.Secret(this, 'AuthToken', {
      description: 'AUTH token of the Surge analytics cache',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy,
    });
    Validations.of(this.authSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'An ElastiCache AUTH token rotates through ModifyReplicationGroup (AuthTokenUpdateStrategy ROTATE, then SET) while clients hold both tokens; the README gives the runbook, a single-step rotation Lambda would cut clients off',
    });
    const key =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: 'Surge cache at rest',
        enableKeyRotation: true,
        removalPolicy,
      });
    const subnets = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: 'Isolated subnets of the Surge cache',
      subnetIds: props.vpc.isolatedSubnets.map((s) => s.subnetId),
    });
    const slowLog = new logs.LogGroup(this, 'SlowLog', {
      retention: logs.RetentionDays.TWO_WEEKS,
      removalPolicy,
    });

    const group = new elasticache.CfnReplicationGroup(this, 'Resource', {
      replicationGroupDescription: 'Surge device aggregates',
      engine: 'valkey',
      engineVersion: '8.0',
      cacheNodeType: nodeType,
      numNodeGroups: 1,
      replicasPerNodeGroup: replicas,
      automaticFailoverEnabled: multiAz,
      multiAzEnabled: multiAz,
      port,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      kmsKeyId: key.keyArn,
      authToken: this.authSecret.secretValue.unsafeUnwrap(),
      cacheSubnetGroupName: subnets.ref,
      securityGroupIds: [props.securityGroup.securityGroupId],
      snapshotRetentionLimit: props.snapshotRetentionDays ?? 1,
      // volatile-lru: only expiring keys (minute windows) can be evicted, never device aggregates.
      cacheParameterGroupName: 'default.valkey8',
      logDeliveryConfigurations: [
        {
          destinationType: 'cloudwatch-logs',
          logFormat: 'json',
          logType: 'slow-log',
          destinationDetails: { cloudWatchLogsDetails: { logGroup: slowLog.logGroupName } },
        },
      ],
    });
    group.applyRemovalPolicy(removalPolicy);
    this.replicationGroupId = group.ref;
    this.redisUrl = `rediss://${group.attrPrimaryEndPointAddress}:${group.attrPrimaryEndPointPort}`;
    this.connections = new ec2.Connections({
      securityGroups: [props.securityGroup],
      defaultPort: ec2.Port.tcp(port),
    });
  }

  /** Reading the AUTH token at cold start. */
  grantConnect(grantee: iam.IGrantable): void {
    this.authSecret.grantRead(grantee);
  }

  /** A metric of the primary node. */
  metric(metricName: string, statistic = 'Average'): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/ElastiCache',
      metricName,
      dimensionsMap: { CacheClusterId: `${this.replicationGroupId}-001` },
      statistic,
    });
  }
}
