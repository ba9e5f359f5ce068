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
});
