import { Match } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { synthStage } from '../../support/synth';

describe('cache stack', () => {
  it('encrypts in transit and at rest and requires the AUTH token from Secrets Manager', () => {
    synthStage('dev')
      .template('cache')
      .hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        Engine: 'valkey',
        TransitEncryptionEnabled: true,
        TransitEncryptionMode: 'required',
        AtRestEncryptionEnabled: true,
        KmsKeyId: Match.anyValue(),
        AuthToken: Match.objectLike({
          'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('resolve:secretsmanager')])]),
        }),
        Port: 6380,
      });
  });

  it('fails over to a replica in another availability zone in prod', () => {
    synthStage('prod').template('cache').hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      MultiAZEnabled: true,
      AutomaticFailoverEnabled: true,
      ReplicasPerNodeGroup: 1,
      CacheNodeType: 'cache.r7g.large',
      SnapshotRetentionLimit: 7,
    });
  });

  it('keeps the cache and its secret when the prod stack is deleted', () => {
    synthStage('prod')
      .template('cache')
      .hasResource('AWS::ElastiCache::ReplicationGroup', { DeletionPolicy: 'Retain' });
  });

  it('offers ElastiCache Serverless with an RBAC user limited to Surge keys, and cluster-aware clients', () => {
    const stage = synthStage('dev', { cache: { mode: 'serverless' } });
    const template = stage.template('cache');
    template.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 0);
    template.hasResourceProperties('AWS::ElastiCache::ServerlessCache', {
      Engine: 'valkey',
      KmsKeyId: Match.anyValue(),
      UserGroupId: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::ElastiCache::User', {
      UserName: 'surge',
      AccessString: 'on ~surge:* +@all',
      AuthenticationMode: { Type: 'password', Passwords: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::ElastiCache::User', {
      UserName: 'default',
      AccessString: 'off -@all',
    });
    for (const stack of ['processing', 'api'] as const) {
      stage.template(stack).hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ REDIS_CLUSTER: 'true' }) },
      });
    }
    stage
      .template('processing')
      .hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ThrottledCmds' });
  });
});
