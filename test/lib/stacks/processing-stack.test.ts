import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthStage } from '../../support/synth';

const dev = synthStage('dev');
const prod = synthStage('prod');
const local = synthStage('local');

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

/** The statements of one role's policy: `Analytics` or `Simulator`. */
function statements(stage: typeof dev, role = 'Analytics'): Statement[] {
  return Object.entries(stage.template('processing').findResources('AWS::IAM::Policy'))
    .filter(([id]) => id.startsWith(`${role}Role`))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('processing stack', () => {
  it('runs the analytics function on Node.js 22, arm64, in the VPC, with reserved concurrency', () => {
    prod.template('processing').hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: 24,
      Timeout: 120,
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
      Environment: {
        Variables: Match.objectLike({
          KAFKA_AUTH: 'aws-iam',
          KAFKA_COMPRESSION: 'gzip',
          // No --enable-source-maps: parsing the map would add ~9 ms to every cold start.
          NODE_OPTIONS: '--max-semi-space-size=128',
          SURGE_SCHEMAS_DIR: '/var/task/schemas',
          REDIS_AUTH_SECRET_ARN: Match.anyValue(),
        }),
      },
    });
  });

  it('wires every backpressure and failure knob of the stage into the event source mapping', () => {
    prod.template('processing').hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      Topics: ['iot-data'],
      BatchSize: 5_000,
      MaximumBatchingWindowInSeconds: 1,
      StartingPosition: 'LATEST',
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'surge-analytics' },
      ProvisionedPollerConfig: { MinimumPollers: 2, MaximumPollers: 24 },
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 21_600,
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: 'kafka://iot-data-failed' } },
    });
  });

  it('turns on partial batch responses and an SQS failure destination when configured', () => {
    const stage = synthStage('dev', { eventSource: { reportBatchItemFailures: true, onFailure: 'sqs' } });
    stage.template('processing').hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    stage
      .template('processing')
      .hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
  });

  it('leaves out what LocalStack lacks: pollers, failure destinations, partial batch responses', () => {
    const mapping = Object.values(
      local.template('processing').findResources('AWS::Lambda::EventSourceMapping'),
    )[0];
    expect(mapping?.Properties).not.toHaveProperty('ProvisionedPollerConfig');
    expect(mapping?.Properties).not.toHaveProperty('DestinationConfig');
    expect(mapping?.Properties).not.toHaveProperty('FunctionResponseTypes');
  });

  it('scopes kafka-cluster actions to the exact cluster, topic and group ARNs', () => {
    const kafka = statements(dev).filter((s) => actions(s).some((a) => a.startsWith('kafka-cluster:')));
    expect(kafka.length).toBeGreaterThan(0);
    for (const statement of kafka) {
      expect(actions(statement)).not.toContain('kafka-cluster:*');
      expect(JSON.stringify(statement.Resource)).not.toMatch(/"\*"|\/\*"/);
    }
    const read = kafka.find((s) => actions(s).includes('kafka-cluster:ReadData'));
    expect(JSON.stringify(read?.Resource)).toMatch(/:topic\/.*\/iot-data"/);
    const group = kafka.find((s) => actions(s).includes('kafka-cluster:AlterGroup'));
    expect(JSON.stringify(group?.Resource)).toMatch(/:group\/.*\/surge-analytics"/);
  });

  it("tells the function where the mapping starts, and lets it read where the input topic's partitions begin", () => {
    for (const [stage, position] of [
      [dev, 'TRIM_HORIZON'],
      [prod, 'LATEST'],
    ] as const) {
      stage.template('processing').hasResourceProperties('AWS::Lambda::Function', {
        Handler: Match.anyValue(),
        Environment: { Variables: Match.objectLike({ EVENT_SOURCE_STARTING_POSITION: position }) },
      });
    }
    // ListOffsets needs DescribeTopic on the topic, which the consume grant gives.
    const describe = statements(dev).find(
      (s) =>
        actions(s).includes('kafka-cluster:DescribeTopic') && actions(s).includes('kafka-cluster:ReadData'),
    );
    expect(JSON.stringify(describe?.Resource)).toMatch(/:topic\/.*\/iot-data"/);
  });

  it('lets the function write to the three output topics and nowhere else', () => {
    const write = statements(dev).filter((s) => actions(s).includes('kafka-cluster:WriteData'));
    expect(write).toHaveLength(1);
    const topics = JSON.stringify(write[0]?.Resource).match(
      /\/(iot-alerts|processed-data|iot-data-dlq|iot-data)"/g,
    );
    expect(topics?.sort()).toEqual(['/iot-alerts"', '/iot-data-dlq"', '/processed-data"']);
  });

  it('lets the simulator write to the input topic only', () => {
    const write = statements(dev, 'Simulator').filter((s) => actions(s).includes('kafka-cluster:WriteData'));
    expect(write).toHaveLength(1);
    expect(
      JSON.stringify(write[0]?.Resource).match(/\/(iot-alerts|processed-data|iot-data-dlq|iot-data)"/g),
    ).toEqual(['/iot-data"']);
  });

  it('raises alarms on lag, errors, throttles, duration, quarantine, Redis and broker disk to an encrypted topic', () => {
    const template = dev.template('processing');
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties.MetricName ?? 'math',
    );
    expect(names).toEqual(
      expect.arrayContaining([
        'OffsetLag',
        'Errors',
        'Throttles',
        'Duration',
        'RecordsQuarantined',
        'EngineCPUUtilization',
        'DatabaseMemoryUsagePercentage',
        'Evictions',
        'KafkaDataLogsDiskUsed',
      ]),
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Duration',
      ExtendedStatistic: 'p99',
      Threshold: 60_000 * 0.8,
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('watches every cache node, so that the cache alarms follow the primary through a failover', () => {
    const alarms = Object.values(prod.template('processing').findResources('AWS::CloudWatch::Alarm'));
    for (const metricName of ['EngineCPUUtilization', 'DatabaseMemoryUsagePercentage', 'Evictions']) {
      const alarm = alarms.find((a) =>
        (a.Properties.Metrics ?? []).some((m: any) => m.MetricStat?.Metric.MetricName === metricName),
      );
      expect(alarm, metricName).toBeDefined();
      const metrics = alarm?.Properties.Metrics as any[];
      const id = metricName.toLowerCase();
      expect(metrics.find((m) => m.ReturnData !== false)?.Expression).toBe(`MAX([${id}_node1, ${id}_node2])`);
      const nodes = metrics
        .filter((m) => m.MetricStat !== undefined)
        .map((m) => JSON.stringify(m.MetricStat.Metric.Dimensions));
      expect(nodes).toHaveLength(prod.config.cache.replicasPerShard + 1);
      expect(nodes.some((d) => d.includes('-001'))).toBe(true);
      expect(nodes.some((d) => d.includes('-002'))).toBe(true);
    }
    // No cache alarm is tied to the first node alone.
    const single = alarms.filter((a) =>
      JSON.stringify(a.Properties.Dimensions ?? []).includes('CacheClusterId'),
    );
    expect(single).toEqual([]);
  });

  it('gives both producers the stage retry schedule for the brokers connection rate', () => {
    const env = (stage: typeof dev) =>
      Object.values(stage.template('processing').findResources('AWS::Lambda::Function'))
        .map((f) => f.Properties.Environment?.Variables ?? {})
        .filter((v) => v.TOPIC_INPUT !== undefined);
    expect(env(dev)).toHaveLength(2);
    for (const variables of env(dev)) {
      expect(variables).toMatchObject({
        KAFKA_RETRIES: '5',
        KAFKA_RETRY_INITIAL_MS: '300',
        KAFKA_RETRY_MAX_MS: '5000',
      });
    }
    expect(env(prod)[0]).toMatchObject({ KAFKA_RETRIES: '3', KAFKA_RETRY_MAX_MS: '1000' });
  });

  it('reserves no concurrency for any function when the stage reserves none', () => {
    const functions = Object.values(
      synthStage('dev', { analytics: { reservedConcurrency: null } })
        .template('processing')
        .findResources('AWS::Lambda::Function'),
    );
    expect(functions.length).toBeGreaterThan(1);
    for (const fn of functions) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('emails alarms when an address is configured', () => {
    synthStage('dev', { alarmEmail: 'oncall@example.com' })
      .template('processing')
      .hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  it('alarms when records reach the failure topic, the store is behind, a state is unreadable or start-up fails', () => {
    const template = dev.template('processing');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'OnFailureDestinationDeliveredEventCount',
      Dimensions: [{ Name: 'EventSourceMappingUUID', Value: Match.anyValue() }],
      Threshold: 1,
    });
    for (const metric of ['StoreBehind', 'Quarantined_STATE_UNREADABLE', 'StartupFailures']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'Surge',
        MetricName: metric,
        Threshold: 1,
      });
    }
  });

  it('lets the mapping write the failure topic with the function role', () => {
    const writes = statements(dev).filter((s) => actions(s).includes('kafka-cluster:WriteData'));
    expect(JSON.stringify(writes)).toContain('"/iot-data-failed"');
  });

  it('deploys the device simulator only in stages that ask for it', () => {
    const simulators = (stage: ReturnType<typeof synthStage>) =>
      Object.values(stage.template('processing').findResources('AWS::Lambda::Function')).filter((f) =>
        String(f.Properties.Description ?? '').includes('simulator'),
      ).length;
    expect(simulators(dev)).toBe(1);
    expect(simulators(prod)).toBe(0);
    expect(simulators(synthStage('prod', { simulator: true }))).toBe(1);
  });
});
