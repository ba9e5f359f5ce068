import { Names, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DISABLED_DEFAULT_ACCESS, readerAccess, writerAccess } from '../../functions/shared/redis/acl';
import { assertWithin, LIMITS } from '../config/limits';
import { generationOf, SharedValue } from './shared-value';

/** The cache users of the functions (README, "Security"). */
export const WRITER_USER = 'surge';
export const READER_USER = 'surge-reader';

/** Not 6379: AwsSolutions-AEC5 asks for a non-default port. */
export const DEFAULT_CACHE_PORT = 6380;

export interface RedisCacheProps {
  readonly vpc: ec2.IVpc;
  /**
   * Where the cache's nodes (or the serverless cache's endpoints) are placed.
   * @see https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/SubnetGroups.html
   * @default - the VPC's isolated subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
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
   * Valkey version of a node-based cache.
   * @default '8.0'
   */
  readonly engineVersion?: string;
  /**
   * Durability of a node-based Valkey 9.0+ cache: `sync` logs every write across AZs before
   * acknowledging it, `async` acknowledges first; `off` leaves replication asynchronous (then the
   * analytics function WAITs for its replicas).
   * @see https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/durability.html
   * @default 'off'
   */
  readonly durability?: 'sync' | 'async' | 'off';
  /**
   * The prefix of every key the functions may touch (their users' key pattern).
   * @default 'surge'
   */
  readonly keyPrefix?: string;
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

/** How a function reaches the cache: as which user, and where that user's password is. */
export interface CacheCredentials {
  /** `rediss://user@host:port` for the function's REDIS_URL; the password travels separately. */
  readonly url: string;
  /** The user's password, read once per container (REDIS_AUTH_SECRET_ARN). */
  readonly secret: secretsmanager.ISecret;
}

/** What another stack needs of a cache (RedisCache.fromCacheAttributes). */
export interface RedisCacheAttributes {
  /** `host:port` of the primary endpoint (node-based) or of the serverless cache. */
  readonly endpoint: string;
  /**
   * The replication group id (node-based) or the serverless cache's name.
   * @default - no metrics: the metric methods throw
   */
  readonly metricsId?: string;
  /** Nodes of the replication group; 0 for a serverless cache. */
  readonly nodeCount: number;
  readonly clusterMode: boolean;
  readonly port: number;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly writerSecret: secretsmanager.ISecret;
  readonly readerSecret: secretsmanager.ISecret;
}

/** A cache, defined in this stack or another: its users, connections, grants and metrics. */
export interface IRedisCache extends ec2.IConnectable {
  /** The analytics function's user: reads and writes Surge's keys through its scripts. */
  readonly writer: CacheCredentials;
  /** The query function's user: reads Surge's keys, nothing else. */
  readonly reader: CacheCredentials;
  /** Whether clients must be cluster-aware (REDIS_CLUSTER). */
  readonly clusterMode: boolean;
  grantConnect(grantee: iam.IGrantable, access?: 'write' | 'read'): iam.Grant;
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricEngineCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricMemoryUsage(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricEvictions(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricThrottledCommands(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
}

/** One dimension set per node (node ids <group>-001 to -00N, cluster mode disabled) or the serverless cache's. */
function cacheMetricDimensions(metricsId: string, nodeCount: number): Record<string, string>[] {
  if (nodeCount === 0) return [{ clusterId: metricsId }];
  return Array.from({ length: nodeCount }, (_, i) => ({
    CacheClusterId: `${metricsId}-${String(i + 1).padStart(3, '0')}`,
  }));
}

abstract class RedisCacheBase extends Construct implements IRedisCache {
  abstract readonly connections: ec2.Connections;
  abstract readonly writer: CacheCredentials;
  abstract readonly reader: CacheCredentials;
  abstract readonly clusterMode: boolean;
  protected abstract readonly metricDimensions: readonly Record<string, string>[];

  /** Lets `grantee` read the password of the cache's writer (`write`) or read-only (`read`) user at cold start. */
  grantConnect(grantee: iam.IGrantable, access: 'write' | 'read' = 'write'): iam.Grant {
    return (access === 'write' ? this.writer : this.reader).secret.grantRead(grantee);
  }

  /**
   * A metric of the cache. Node-based: the maximum over every node of the replication group, so
   * that an alarm keeps watching the primary after a failover moves it to another node (node ids
   * stay, roles change). Serverless: the cache's own metric.
   * @see https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.html
   */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    const perNode = this.metricDimensions.map(
      (dimensionsMap) =>
        new cloudwatch.Metric({
          namespace: 'AWS/ElastiCache',
          metricName,
          dimensionsMap,
          statistic: 'Average',
          ...props,
        }),
    );
    if (perNode.length === 0)
      throw new Error('this cache was imported without a metricsId: it has no metrics');
    const [only] = perNode;
    if (perNode.length === 1 && only !== undefined) return only;
    // Ids unique per metric: a graph may hold several of these expressions.
    const ids = perNode.map((_, i) => `${metricName.toLowerCase().replace(/[^a-z0-9]/g, '')}_node${i + 1}`);
    return new cloudwatch.MathExpression({
      expression: `MAX([${ids.join(', ')}])`,
      usingMetrics: Object.fromEntries(perNode.map((metric, i) => [ids[i], metric])),
      label: `${metricName} (highest node)`,
      period: props?.period,
    });
  }

  /** Engine CPU in percent (node-based caches). */
  metricEngineCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metric('EngineCPUUtilization', props);
  }

  /** Memory used of the node's maxmemory, in percent (node-based caches). */
  metricMemoryUsage(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metric('DatabaseMemoryUsagePercentage', props);
  }

  /** Keys evicted; with noeviction any eviction means the parameter group is not the cache's. */
  metricEvictions(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metric('Evictions', { statistic: 'Sum', ...props });
  }

  /** Commands a serverless cache throttled at its usage limits. */
  metricThrottledCommands(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metric('ThrottledCmds', { statistic: 'Sum', ...props });
  }
}

class ImportedRedisCache extends RedisCacheBase {
  readonly connections: ec2.Connections;
  readonly writer: CacheCredentials;
  readonly reader: CacheCredentials;
  readonly clusterMode: boolean;
  protected readonly metricDimensions: readonly Record<string, string>[];

  constructor(scope: Construct, id: string, attrs: RedisCacheAttributes) {
    super(scope, id);
    this.clusterMode = attrs.clusterMode;
    this.writer = { url: `rediss://${WRITER_USER}@${attrs.endpoint}`, secret: attrs.writerSecret };
    this.reader = { url: `rediss://${READER_USER}@${attrs.endpoint}`, secret: attrs.readerSecret };
    this.metricDimensions =
      attrs.metricsId === undefined ? [] : cacheMetricDimensions(attrs.metricsId, attrs.nodeCount);
    this.connections = new ec2.Connections({
      securityGroups: [attrs.securityGroup],
      defaultPort: ec2.Port.tcp(attrs.port),
    });
  }
}

/**
 * A Valkey cache with TLS in transit, encryption at rest, eviction off (a write refused for memory
 * fails the batch loudly instead of dropping state), and RBAC users with least privilege: a writer
 * for the analytics function, a read-only user for the query API, and the default user switched off.
 * Node-based (a replication group, cluster mode disabled) or ElastiCache Serverless.
 */
export class RedisCache extends RedisCacheBase {
  /** A cache defined elsewhere, typically in another stack (`attributesFor`). */
  static fromCacheAttributes(scope: Construct, id: string, attrs: RedisCacheAttributes): IRedisCache {
    return new ImportedRedisCache(scope, id, attrs);
  }

  readonly connections: ec2.Connections;
  readonly writer: CacheCredentials;
  readonly reader: CacheCredentials;
  readonly clusterMode: boolean;
  /** Changes exactly when the cache is replaced (mode, subnets, security group, key, port). */
  readonly generation: string;
  /** The replication group id (node-based) or the serverless cache's name. */
  readonly cacheId: string;
  protected readonly metricDimensions: readonly Record<string, string>[];
  private readonly nodeCount: number;
  private readonly port: number;
  private readonly securityGroup: ec2.ISecurityGroup;
  private readonly writerSecret: secretsmanager.ISecret;
  private readonly readerSecret: secretsmanager.ISecret;
  private readonly shared: { readonly endpoint: SharedValue; readonly metricsId: SharedValue };

  constructor(scope: Construct, id: string, props: RedisCacheProps) {
    super(scope, id);
    const replicas = props.replicas ?? 0;
    const multiAz = props.multiAz ?? false;
    const port = props.port ?? DEFAULT_CACHE_PORT;
    const nodeType = props.nodeType ?? 'cache.t4g.micro';
    assertWithin('replicas', replicas, LIMITS.cacheReplicas);
    if (multiAz && replicas < 1) throw new Error('multiAz needs at least 1 replica');
    if (!Token.isUnresolved(nodeType) && !/^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(nodeType)) {
      throw new Error(`nodeType must look like cache.r7g.large, got "${nodeType}"`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    const keyPrefix = props.keyPrefix ?? 'surge';
    const engineVersion = props.engineVersion ?? '8.0';
    const durability = props.durability ?? 'off';
    if (!Token.isUnresolved(engineVersion) && durability !== 'off' && Number.parseFloat(engineVersion) < 9) {
      throw new Error(
        `durability ${durability} needs Valkey 9.0 or later, got engineVersion ${engineVersion}`,
      );
    }
    const password = (name: string, description: string) => {
      const secret = new secretsmanager.Secret(this, name, {
        description,
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'A cache user password rotates by ModifyUser with two passwords while clients hold either (README runbook); a single-step rotation Lambda would cut clients off',
      });
      return secret;
    };
    const writerSecret = password(
      'WriterPassword',
      'Password of the Surge cache user of the analytics function',
    );
    const readerSecret = password(
      'ReaderPassword',
      'Password of the read-only Surge cache user of the query API',
    );
    const defaultSecret = password('DefaultUserPassword', 'Password of the switched-off default cache user');
    const key =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: 'Surge cache at rest',
        enableKeyRotation: true,
        removalPolicy,
      });
    this.clusterMode = (props.mode ?? 'provisioned') === 'serverless';
    const subnets = props.vpc.selectSubnets(
      props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ).subnets;
    this.port = this.clusterMode ? 6379 : port;
    this.securityGroup = props.securityGroup;
    this.generation = generationOf(
      props.mode ?? 'provisioned',
      subnets.map((s) => s.node.path),
      props.securityGroup.node.path,
      props.encryptionKey?.node.path ?? 'own key',
      this.port,
    );
    this.writerSecret = writerSecret;
    this.readerSecret = readerSecret;
    const baseName = Names.uniqueResourceName(this, { maxLength: 32, separator: '-' })
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .replace(/^[^a-z]+/, 'c');
    let endpoint: string;
    // Node ids (node-based) or the cache's name (serverless): the metrics' dimension.
    let metricsId: string;
    if (this.clusterMode) {
      const users = this.users(baseName, keyPrefix, { writerSecret, readerSecret, defaultSecret });
      // An id of its own (a logical id never changes resource type), and a name with the generation
      // (CloudFormation cannot replace a resource whose name stays the same).
      const name = `${baseName.slice(0, 31)}-${this.generation}`;
      const cache = new elasticache.CfnServerlessCache(this, 'Serverless', {
        serverlessCacheName: name,
        engine: 'valkey',
        majorEngineVersion: '8',
        kmsKeyId: key.keyArn,
        securityGroupIds: [props.securityGroup.securityGroupId],
        subnetIds: subnets.map((s) => s.subnetId),
        userGroupId: users.userGroupId,
        snapshotRetentionLimit: props.snapshotRetentionDays ?? 1,
      });
      cache.addResourceDependency(users);
      cache.applyRemovalPolicy(removalPolicy);
      endpoint = `${cache.attrEndpointAddress}:${cache.attrEndpointPort}`;
      metricsId = name;
    } else {
      const subnetGroup = new elasticache.CfnSubnetGroup(this, 'Subnets', {
        description: 'Isolated subnets of the Surge cache',
        subnetIds: subnets.map((s) => s.subnetId),
      });
      const slowLog = new logs.LogGroup(this, 'SlowLog', {
        retention: logs.RetentionDays.TWO_WEEKS,
        removalPolicy,
      });

      // noeviction: a full cache refuses writes (the batch fails and is retried, an alarm fires)
      // rather than evicting state that exactly-once depends on; the default groups use volatile-lru.
      const parameters = new elasticache.CfnParameterGroup(this, 'Parameters', {
        cacheParameterGroupFamily: `valkey${engineVersion.split('.')[0]}`,
        description: 'Surge: never evict',
        properties: { 'maxmemory-policy': 'noeviction' },
      });
      const users = this.users(baseName, keyPrefix, { writerSecret, readerSecret, defaultSecret });
      const group = new elasticache.CfnReplicationGroup(this, 'Resource', {
        replicationGroupDescription: 'Surge device aggregates',
        engine: 'valkey',
        engineVersion,
        ...(Number.parseFloat(engineVersion) >= 9
          ? { durability: durability === 'off' ? 'disabled' : durability }
          : {}),
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
        userGroupIds: [users.userGroupId],
        cacheSubnetGroupName: subnetGroup.ref,
        securityGroupIds: [props.securityGroup.securityGroupId],
        snapshotRetentionLimit: props.snapshotRetentionDays ?? 1,
        cacheParameterGroupName: parameters.ref,
        logDeliveryConfigurations: [
          {
            destinationType: 'cloudwatch-logs',
            logFormat: 'json',
            logType: 'slow-log',
            destinationDetails: { cloudWatchLogsDetails: { logGroup: slowLog.logGroupName } },
          },
        ],
      });
      group.addResourceDependency(users);
      group.applyRemovalPolicy(removalPolicy);
      if (group.durability !== undefined) {
        // cfn-lint's resource specification predates Durability (aws-cdk-lib's CfnReplicationGroup
        // and CloudFormation have it): its unknown-property check is silenced here alone.
        group.cfnOptions.metadata = { 'cfn-lint': { config: { ignore_checks: ['E3002'] } } };
      }
      Validations.of(group).acknowledge({
        id: 'AwsSolutions-AEC6',
        reason:
          'RBAC users (a writer, a read-only reader, the default user off) authenticate each function instead of one shared AUTH token',
      });
      endpoint = `${group.attrPrimaryEndPointAddress}:${group.attrPrimaryEndPointPort}`;
      metricsId = group.ref;
    }
    this.cacheId = metricsId;
    this.nodeCount = this.clusterMode ? 0 : replicas + 1;
    this.metricDimensions = cacheMetricDimensions(metricsId, this.nodeCount);
    this.writer = { url: `rediss://${WRITER_USER}@${endpoint}`, secret: writerSecret };
    this.reader = { url: `rediss://${READER_USER}@${endpoint}`, secret: readerSecret };
    this.connections = new ec2.Connections({
      securityGroups: [props.securityGroup],
      defaultPort: ec2.Port.tcp(this.port),
    });
    this.shared = {
      endpoint: new SharedValue(this, 'Endpoint', {
        value: endpoint,
        generation: this.generation,
        description: 'host:port of the Surge cache',
      }),
      metricsId: new SharedValue(this, 'MetricsId', {
        value: metricsId,
        generation: this.generation,
        description: 'Replication group id (node-based) or serverless cache name of the Surge cache',
      }),
    };
  }

  /**
   * What `reader`'s stack needs to use the cache, without an export that would block replacing it:
   * the endpoint and the metrics' id are read at deploy time (SharedValue); the secrets never change.
   */
  attributesFor(reader: Construct, options: { readonly metrics?: boolean } = {}): RedisCacheAttributes {
    return {
      endpoint: this.shared.endpoint.valueIn(reader),
      ...((options.metrics ?? true) ? { metricsId: this.shared.metricsId.valueIn(reader) } : {}),
      nodeCount: this.nodeCount,
      clusterMode: this.clusterMode,
      port: this.port,
      securityGroup: this.securityGroup,
      writerSecret: this.writerSecret,
      readerSecret: this.readerSecret,
    };
  }

  /** The user group: the default user switched off (password-authenticated, as Valkey requires), writer, reader. */
  private users(
    name: string,
    keyPrefix: string,
    secrets: {
      writerSecret: secretsmanager.ISecret;
      readerSecret: secretsmanager.ISecret;
      defaultSecret: secretsmanager.ISecret;
    },
  ): elasticache.CfnUserGroup {
    const user = (id: string, userName: string, accessString: string, secret: secretsmanager.ISecret) =>
      new elasticache.CfnUser(this, id, {
        userId: `${name}-${id.toLowerCase()}`.slice(0, 40),
        userName,
        engine: 'valkey',
        accessString,
        authenticationMode: { Type: 'password', Passwords: [secret.secretValue.unsafeUnwrap()] },
      });
    const members = [
      user('DefaultUser', 'default', DISABLED_DEFAULT_ACCESS, secrets.defaultSecret),
      user('WriterUser', WRITER_USER, writerAccess(keyPrefix), secrets.writerSecret),
      user('ReaderUser', READER_USER, readerAccess(keyPrefix), secrets.readerSecret),
    ];
    const group = new elasticache.CfnUserGroup(this, 'Users', {
      userGroupId: `${name}-users`.slice(0, 40),
      engine: 'valkey',
      userIds: members.map((m) => m.userId),
    });
    for (const member of members) group.addResourceDependency(member);
    return group;
  }
}
