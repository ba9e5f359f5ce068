import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { readerAccess, writerAccess } from '../../../functions/shared/redis/acl';
import { loadStageConfig } from '../../../lib/config/stage-config';
import { synthStage } from '../../support/synth';

describe('cache stack', () => {
  it('encrypts in transit and at rest and authenticates each function as its own RBAC user', () => {
    const template = synthStage('dev').template('cache');
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'valkey',
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      AtRestEncryptionEnabled: true,
      KmsKeyId: Match.anyValue(),
      UserGroupIds: [Match.anyValue()],
      AuthToken: Match.absent(),
      Port: 6380,
    });
    const password = {
      Type: 'password',
      Passwords: [
        Match.objectLike({
          'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('resolve:secretsmanager')])]),
        }),
      ],
    };
    template.hasResourceProperties('AWS::ElastiCache::User', {
      UserName: 'surge',
      AccessString: writerAccess('surge'),
      AuthenticationMode: password,
    });
    template.hasResourceProperties('AWS::ElastiCache::User', {
      UserName: 'surge-reader',
      AccessString: readerAccess('surge'),
      AuthenticationMode: password,
    });
    // Valkey user groups need a user named default, authenticated: here switched off.
    template.hasResourceProperties('AWS::ElastiCache::User', {
      UserName: 'default',
      AccessString: 'off -@all',
      AuthenticationMode: password,
    });
  });

  it('never evicts: its own parameter group with maxmemory-policy noeviction', () => {
    for (const [stage, family] of [
      ['dev', 'valkey8'],
      ['prod', 'valkey9'],
    ] as const) {
      const template = synthStage(stage).template('cache');
      template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
        CacheParameterGroupFamily: family,
        Properties: { 'maxmemory-policy': 'noeviction' },
      });
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        CacheParameterGroupName: { Ref: Match.stringLikeRegexp('Parameters') },
      });
    }
  });

  it('makes prod writes durable (Valkey 9 sync durability) and leaves dev without it', () => {
    synthStage('prod').template('cache').hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      EngineVersion: '9.0',
      Durability: 'sync',
    });
    synthStage('dev').template('cache').hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      EngineVersion: '8.0',
      Durability: Match.absent(),
    });
    synthStage('dev', { cache: { engineVersion: '9.0', durability: 'async' } })
      .template('cache')
      .hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { Durability: 'async' });
  });

  it('refuses durability on a version or mode that does not have it, naming the setting', () => {
    expect(() => loadStageConfig('dev', { cache: { durability: 'sync' } })).toThrow(
      /cache.durability sync needs cache.engineVersion 9.0 or later, got 8.0/,
    );
    expect(() => loadStageConfig('prod', { cache: { mode: 'serverless' } })).toThrow(
      /cache.durability sync is for node-based caches/,
    );
  });

  it('waits for replicas after each batch exactly where writes are not durable by themselves', () => {
    const wait = (stage: ReturnType<typeof synthStage>) =>
      Object.values(stage.template('processing').findResources('AWS::Lambda::Function'))
        .map((f) => f.Properties.Environment?.Variables?.REDIS_WAIT_REPLICAS)
        .filter((v) => v !== undefined);
    expect(wait(synthStage('prod'))).toEqual(['0']);
    expect(wait(synthStage('dev'))).toEqual(['0']);
    expect(wait(synthStage('prod', { cache: { engineVersion: '8.0', durability: 'off' } }))).toEqual(['1']);
    expect(wait(synthStage('prod', { cache: { durability: 'async', replicasPerShard: 2 } }))).toEqual(['2']);
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
      AccessString: writerAccess('surge'),
      AuthenticationMode: { Type: 'password', Passwords: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::ElastiCache::User', {
      UserName: 'surge-reader',
      AccessString: readerAccess('surge'),
    });
    template.hasResourceProperties('AWS::ElastiCache::User', {
      UserName: 'default',
      AccessString: 'off -@all',
      AuthenticationMode: { Type: 'password', Passwords: Match.anyValue() },
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
