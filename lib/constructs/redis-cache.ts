import { Names, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
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
  /**
   * A replication group (cluster mode disabled), or ElastiCache Serverless (always cluster mode:
   * the functions then run with REDIS_CLUSTER=true; every update touches one hash slot).
   * @default 'provisioned'
   */
  readonly mode?: 'provisioned' | 'serverless';
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
  /** Whether clients must be cluster-aware (REDIS_CLUSTER). */
  readonly clusterMode: boolean;
  private readonly metricDimensions: Record<string, string>;

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
    this.clusterMode = (props.mode ?? 'provisioned') === 'serverless';
    if (this.clusterMode) {
      const name = `${Names.uniqueResourceName(this, { maxLength: 32, separator: '-' })}`
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .replace(/^[^a-z]+/, 'c');
      // RBAC: a disabled default user, and the application user limited to Surge's keys.
      const disabledDefault = new elasticache.CfnUser(this, 'DefaultUser', {
        userId: `${name}-default`.slice(0, 40),
        userName: 'default',
        engine: 'valkey',
        accessString: 'off -@all',
        authenticationMode: { Type: 'no-password-required' },
      });
      const appUser = new elasticache.CfnUser(this, 'AppUser', {
        userId: `${name}-app`.slice(0, 40),
        userName: 'surge',
        engine: 'valkey',
        accessString: 'on ~surge:* +@all',
        authenticationMode: { Type: 'password', Passwords: [this.authSecret.secretValue.unsafeUnwrap()] },
      });
      const users = new elasticache.CfnUserGroup(this, 'Users', {
        userGroupId: `${name}-users`.slice(0, 40),
        engine: 'valkey',
        userIds: [disabledDefault.userId, appUser.userId],
      });
      users.addDependency(disabledDefault);
      users.addDependency(appUser);
      const cache = new elasticache.CfnServerlessCache(this, 'Resource', {
        serverlessCacheName: name,
        engine: 'valkey',
        majorEngineVersion: '8',
        kmsKeyId: key.keyArn,
        securityGroupIds: [props.securityGroup.securityGroupId],
        subnetIds: props.vpc.isolatedSubnets.map((s) => s.subnetId),
        userGroupId: users.userGroupId,
        snapshotRetentionLimit: props.snapshotRetentionDays ?? 1,
      });
      cache.addDependency(users);
      cache.applyRemovalPolicy(removalPolicy);
      this.redisUrl = `rediss://surge@${cache.attrEndpointAddress}:${cache.attrEndpointPort}`;
      this.metricDimensions = { clusterId: name };
      this.connections = new ec2.Connections({
        securityGroups: [props.securityGroup],
        defaultPort: ec2.Port.tcp(6379),
      });
      return;
    }

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
    this.metricDimensions = { CacheClusterId: `${group.ref}-001` };
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

  /** A metric of the primary node, or of the serverless cache. */
  metric(metricName: string, statistic = 'Average'): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/ElastiCache',
      metricName,
      dimensionsMap: this.metricDimensions,
      statistic,
    });
  }

  /**
   * What the cache alarms watch: engine CPU and memory of the primary node, or, serverless,
   * throttled commands (the cache scales itself until its limits).
   */
  healthMetrics(): { name: string; metric: cloudwatch.Metric; threshold: number; description: string }[] {
    const evictions = {
      name: 'RedisEvictions',
      metric: this.metric('Evictions', 'Sum'),
      threshold: 1,
      description: 'Redis evicts windows: memory is short',
    };
    if (this.clusterMode) {
      return [
        {
          name: 'RedisThrottled',
          metric: this.metric('ThrottledCmds', 'Sum'),
          threshold: 1,
          description: 'Serverless cache throttles commands: raise its usage limits',
        },
        evictions,
      ];
    }
    return [
      {
        name: 'RedisCpu',
        metric: this.metric('EngineCPUUtilization'),
        threshold: 80,
        description: 'Redis engine CPU high: lower concurrency or scale the node',
      },
      {
        name: 'RedisMemory',
        metric: this.metric('DatabaseMemoryUsagePercentage'),
        threshold: 80,
        description: 'Redis memory high: scale the node or shorten window TTL',
      },
      evictions,
    ];
  }
}
