import { CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import { RedisCache } from '../constructs/redis-cache';

export interface CacheStackProps extends StackProps {
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly cacheSecurityGroup: ec2.ISecurityGroup;
}

/** ElastiCache holding the aggregates. */
export class CacheStack extends Stack {
  readonly cache: RedisCache;

  constructor(scope: Construct, id: string, props: CacheStackProps) {
    super(scope, id, props);
    const { cache } = props.config;
    this.cache = new RedisCache(this, 'Cache', {
      vpc: props.vpc,
      securityGroup: props.cacheSecurityGroup,
      mode: cache.mode,
      nodeType: cache.nodeType,
      engineVersion: cache.engineVersion,
      durability: cache.durability,
      replicas: cache.replicasPerShard,
      multiAz: cache.multiAz,
      snapshotRetentionDays: props.config.stage === 'prod' ? 7 : 1,
      removalPolicy: props.config.dataRemoval === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    if (cache.mode === 'provisioned' && !cache.multiAz) {
      Validations.of(this.cache).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason: `Single-node cache in the ${props.config.stage} stage to keep cost low; prod runs a replica in another AZ with automatic failover`,
      });
    }
    // Outputs for people (README, "Deploying for real"); other stacks read SSM parameters instead.
    new CfnOutput(this, 'CacheId', {
      value: this.cache.cacheId,
      description: cache.mode === 'serverless' ? 'Serverless cache name' : 'Replication group id',
    });
  }
}
