import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthStage } from '../../support/synth';

const dev = synthStage('dev');
const prod = synthStage('prod');

describe('streaming stack', () => {
  it('runs a KRaft cluster with IAM client auth, TLS everywhere and a customer key at rest', () => {
    dev.template('streaming').hasResourceProperties('AWS::MSK::Cluster', {
      KafkaVersion: '3.9.x.kraft',
      ClientAuthentication: { Sasl: { Iam: { Enabled: true } }, Unauthenticated: { Enabled: false } },
      EncryptionInfo: {
        EncryptionInTransit: { ClientBroker: 'TLS', InCluster: true },
        EncryptionAtRest: { DataVolumeKMSKeyId: Match.anyValue() },
      },
      LoggingInfo: { BrokerLogs: { CloudWatchLogs: { Enabled: true } } },
      BrokerNodeGroupInfo: Match.objectLike({ ConnectivityInfo: { PublicAccess: { Type: 'DISABLED' } } }),
    });
    dev.template('streaming').hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('sizes brokers per stage, always a multiple of the availability zones', () => {
    dev.template('streaming').hasResourceProperties('AWS::MSK::Cluster', {
      NumberOfBrokerNodes: 2,
      BrokerNodeGroupInfo: Match.objectLike({ InstanceType: 'kafka.t3.small' }),
    });
    prod.template('streaming').hasResourceProperties('AWS::MSK::Cluster', {
      NumberOfBrokerNodes: 3,
      BrokerNodeGroupInfo: Match.objectLike({ InstanceType: 'kafka.m7g.large' }),
    });
  });

  it('configures brokers for durability: no automatic topics, replication and min.insync.replicas per stage', () => {
    const properties = (stage: typeof dev) =>
      Object.values(stage.template('streaming').findResources('AWS::MSK::Configuration'))[0]?.Properties
        .ServerProperties as string;
    expect(properties(dev)).toContain('auto.create.topics.enable=false');
    expect(properties(prod)).toContain('default.replication.factor=3');
    expect(properties(prod)).toContain('min.insync.replicas=2');
    expect(properties(prod)).toContain('unclean.leader.election.enable=false');
    expect(properties(prod)).toContain('num.io.threads=8');
  });

  it('declares the five topics with the stage partition count', () => {
    const topics = prod.template('streaming').findResources('AWS::MSK::Topic');
    expect(
      Object.values(topics)
        .map((t) => t.Properties.TopicName)
        .sort(),
    ).toEqual(['iot-alerts', 'iot-data', 'iot-data-dlq', 'iot-data-failed', 'processed-data']);
    for (const topic of Object.values(topics))
      expect(topic.Properties).toMatchObject({ PartitionCount: 24, ReplicationFactor: 3 });
  });

  it('sizes the dead-letter and failure topics so that any record the input topic took fits them', () => {
    const limits = Object.fromEntries(
      Object.values(prod.template('streaming').findResources('AWS::MSK::Topic')).map((t) => [
        t.Properties.TopicName,
        Number(JSON.parse(t.Properties.Configs['Fn::Base64'])['max.message.bytes']),
      ]),
    );
    expect(limits).toEqual({
      'iot-data': 1_048_576,
      'processed-data': 1_048_576,
      'iot-alerts': 1_048_576,
      'iot-data-dlq': 1_048_576 + 65_536,
      'iot-data-failed': 2 * 1_048_576 + 65_536,
    });
    // The function cuts its produce requests below the output topics' limit.
    prod.template('processing').hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ KAFKA_MAX_MESSAGE_BYTES: '1048576', TOPIC_FAILED: 'iot-data-failed' }),
      },
    });
  });

  it('creates topics with a custom resource where AWS::MSK::Topic is unavailable', () => {
    for (const stage of [synthStage('local'), synthStage('dev', { kafka: { mode: 'serverless' } })]) {
      const template = stage.template('streaming');
      template.resourceCountIs('AWS::MSK::Topic', 0);
      template.hasResourceProperties('Custom::SurgeKafkaTopics', {
        Topics: Match.arrayWith([Match.objectLike({ name: 'iot-data' })]),
      });
    }
  });

  it('hands the topic custom resource the brokers looked up outside the VPC, and no control-plane grant', () => {
    const template = synthStage('dev', { kafka: { mode: 'serverless' } }).template('streaming');
    const [lookupId] = Object.keys(template.findResources('Custom::AWS')).filter((id) =>
      id.includes('BootstrapBrokersIam'),
    );
    expect(lookupId).toBeDefined();
    template.hasResourceProperties('Custom::SurgeKafkaTopics', {
      BootstrapBrokers: { 'Fn::GetAtt': [lookupId, 'BootstrapBrokerStringSaslIam'] },
    });
    // The lookup runs in aws-cdk-lib's singleton function, which is not in the VPC.
    const singleton = Object.values(template.findResources('AWS::Lambda::Function')).find((f) =>
      JSON.stringify(f).includes('AWS679f53fac002430cb0da5b7982bd2287'),
    );
    expect(singleton?.Properties.VpcConfig).toBeUndefined();
    // The function in the isolated subnets is never allowed, so never tempted, to call the control plane.
    const topicsPolicies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) =>
      id.startsWith('TopicsOnEvent'),
    );
    expect(topicsPolicies.length).toBeGreaterThan(0);
    expect(JSON.stringify(topicsPolicies)).not.toContain('kafka:GetBootstrapBrokers');
  });

  it('keeps prod topics when the stack is deleted or a topic leaves the template; dev deletes them', () => {
    for (const topic of Object.values(prod.template('streaming').findResources('AWS::MSK::Topic'))) {
      expect(topic).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    for (const topic of Object.values(dev.template('streaming').findResources('AWS::MSK::Topic'))) {
      expect(topic).toMatchObject({ DeletionPolicy: 'Delete' });
    }
  });

  it('offers MSK Serverless with IAM auth as a dev option', () => {
    synthStage('dev', { kafka: { mode: 'serverless' } })
      .template('streaming')
      .hasResourceProperties('AWS::MSK::ServerlessCluster', {
        ClientAuthentication: { Sasl: { Iam: { Enabled: true } } },
      });
  });
});
