import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { describe, expect, it } from 'vitest';
import { KafkaCluster } from '../../../lib/constructs/kafka-cluster';
import { RedisCache } from '../../../lib/constructs/redis-cache';

function vpcWithTwoGroups() {
  const stack = new Stack(new App(), 'Placement');
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    natGateways: 0,
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    subnetConfiguration: [
      { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      { name: 'other', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
  const ids = (name?: string) =>
    stack.resolve(
      vpc.selectSubnets(name ? { subnetGroupName: name } : { subnetType: ec2.SubnetType.PRIVATE_ISOLATED })
        .subnetIds,
    );
  return { stack, vpc, sg, ids };
}

describe('where the brokers and the cache run', () => {
  it('places the brokers in the subnets given, one per zone, and names the cluster after them', () => {
    const { stack, vpc, sg, ids } = vpcWithTwoGroups();
    const plain = new KafkaCluster(stack, 'Plain', { vpc, securityGroup: sg });
    const placed = new KafkaCluster(stack, 'Placed', {
      vpc,
      securityGroup: sg,
      vpcSubnets: { subnetGroupName: 'other' },
    });
    const clusters = Template.fromStack(stack).findResources('AWS::MSK::Cluster');
    const subnetsOf = (id: string) =>
      Object.entries(clusters).find(([logical]) => logical.startsWith(id))?.[1].Properties.BrokerNodeGroupInfo
        .ClientSubnets;
    expect(subnetsOf('Placed')).toEqual(ids('other'));
    expect(subnetsOf('Plain')).toHaveLength(2);
    expect(placed.generation).not.toBe(plain.generation);
  });

  it('places the cache in the subnets given', () => {
    const { stack, vpc, sg, ids } = vpcWithTwoGroups();
    new RedisCache(stack, 'Cache', { vpc, securityGroup: sg, vpcSubnets: { subnetGroupName: 'other' } });
    Template.fromStack(stack).hasResourceProperties('AWS::ElastiCache::SubnetGroup', {
      SubnetIds: ids('other'),
    });
    expect(ids('other')).not.toEqual(ids('data'));
  });
});
