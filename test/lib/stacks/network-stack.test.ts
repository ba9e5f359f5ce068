import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthStage } from '../../support/synth';

const dev = synthStage('dev');
const prod = synthStage('prod');
const local = synthStage('local');

describe('network stack', () => {
  it('has isolated subnets only: no internet gateway, no NAT', () => {
    const template = dev.template('network');
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    for (const subnet of Object.values(template.findResources('AWS::EC2::Subnet'))) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    }
  });

  it('spans two availability zones in dev and three in prod', () => {
    dev.template('network').resourceCountIs('AWS::EC2::Subnet', 2);
    prod.template('network').resourceCountIs('AWS::EC2::Subnet', 3);
  });

  it('records rejected traffic in flow logs', () => {
    dev
      .template('network')
      .hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', ResourceType: 'VPC' });
  });

  it('gives the functions a Secrets Manager endpoint, and Lambda and STS endpoints only to on-demand pollers', () => {
    const services = (stage: typeof dev) =>
      Object.values(stage.template('network').findResources('AWS::EC2::VPCEndpoint')).map(
        (e) => JSON.stringify(e.Properties.ServiceName).match(/\.(\w+)"(\]\]\})?$/)?.[1],
      );
    expect(services(dev).sort()).toEqual(['secretsmanager']);
    expect(services(local).sort()).toEqual(['lambda', 'secretsmanager', 'sts']);
  });

  it('gives the pollers an SQS endpoint when the failure destination is a queue (AWS asks for one in the VPC)', () => {
    const sqs = synthStage('dev', { eventSource: { onFailure: 'sqs' } }).template('network');
    sqs.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: 'com.amazonaws.eu-west-1.sqs',
      PrivateDnsEnabled: true,
    });
    sqs.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      Description: 'Pollers to the failure queue',
      FromPort: 443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('BrokerSecurityGroup'), 'GroupId'] },
    });
  });

  it('lets only the functions and the pollers reach the brokers, on the IAM-auth port', () => {
    const template = dev.template('network');
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).filter((r) =>
      JSON.stringify(r.Properties.GroupId).includes('BrokerSecurityGroup'),
    );
    expect(ingress.length).toBeGreaterThan(0);
    for (const rule of ingress) {
      expect(rule.Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 9098, ToPort: 9098 });
      expect(JSON.stringify(rule.Properties.SourceSecurityGroupId)).toMatch(
        /BrokerSecurityGroup|FunctionSecurityGroup/,
      );
    }
  });

  it('allows no outbound traffic to anywhere: functions talk only to the brokers, the cache and the endpoints', () => {
    const template = dev.template('network');
    const inline = Object.values(template.findResources('AWS::EC2::SecurityGroup')).flatMap(
      (g) => g.Properties.SecurityGroupEgress ?? [],
    );
    for (const rule of inline) expect(rule.CidrIp).toBe('255.255.255.255/32');
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress'));
    expect(egress.length).toBeGreaterThan(0);
    for (const rule of egress) {
      expect(rule.Properties.CidrIp).toBeUndefined();
      expect(rule.Properties.DestinationSecurityGroupId).toBeDefined();
    }
  });
});
