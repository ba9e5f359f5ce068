import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../lib/config/limits';
import { loadStageConfig } from '../../../lib/config/stage-config';
import { KafkaCluster } from '../../../lib/constructs/kafka-cluster';
import { RedisCache } from '../../../lib/constructs/redis-cache';

function network() {
  const stack = new Stack(new App(), 'Limits');
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0 });
  return { stack, vpc, securityGroup: new ec2.SecurityGroup(stack, 'Sg', { vpc }) };
}

/** A limit is defined once (lib/config/limits.ts): the stage config and the construct refuse the same values alike. */
describe('the limits of settings', () => {
  it.each([
    ['kafka.brokersPerAz', 'brokersPerAz', LIMITS.brokersPerAz.max + 1],
    ['kafka.volumeSizeGiB', 'volumeSizeGiB', LIMITS.volumeSizeGiB.max + 1],
    ['kafka.brokersPerAz', 'brokersPerAz', 1.5],
  ])('refuses %s = %s in the stage config and in KafkaCluster with one message', (path, prop, value) => {
    const [section, field] = path.split('.') as [string, string];
    expect(() => loadStageConfig('dev', { [section]: { [field]: value } })).toThrow(
      `${path} must be a whole number from`,
    );
    const { stack, vpc, securityGroup } = network();
    expect(() => new KafkaCluster(stack, 'Cluster', { vpc, securityGroup, [prop]: value })).toThrow(
      new RegExp(`^${prop} must be a whole number from \\d+ to \\d+, got ${value}$`),
    );
  });

  it('refuses more cache replicas than ElastiCache allows, in the stage config and in RedisCache', () => {
    const replicas = LIMITS.cacheReplicas.max + 1;
    expect(() => loadStageConfig('dev', { cache: { replicasPerShard: replicas } })).toThrow(
      `cache.replicasPerShard must be a whole number from 0 to 5, got ${replicas}`,
    );
    const { stack, vpc, securityGroup } = network();
    expect(() => new RedisCache(stack, 'Cache', { vpc, securityGroup, replicas })).toThrow(
      `replicas must be a whole number from 0 to 5, got ${replicas}`,
    );
  });
});
