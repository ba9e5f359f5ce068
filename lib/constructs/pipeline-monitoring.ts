import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../functions/shared/observability/powertools';
import type { IKafkaCluster } from './kafka-cluster';
import type { IRedisCache } from './redis-cache';
import type { SurgeFunction } from './surge-function';

export interface PipelineMonitoringProps {
  readonly analytics: SurgeFunction;
  readonly timeout: Duration;
  readonly cluster: IKafkaCluster;
  readonly cache: IRedisCache;
  /** The mapping's failure destination, when it is a queue. @default - none */
  readonly failureQueue?: sqs.IQueue;
  /** The mapping's failure destination, when it is a Kafka topic. @default - none */
  readonly failureTopic?: string;
  /** The event source mapping, whose own metrics count what went to the failure destination. @default - none */
  readonly eventSourceMappingId?: string;
  /** @default - no subscription: subscribe to the alarm topic yourself */
  readonly alarmEmail?: string;
  /** Records behind the head of the input topic that raise the lag alarm. @default 100_000 */
  readonly offsetLagThreshold?: number;
  /** Quarantined records in 5 minutes that raise the quarantine alarm. @default 100 */
  readonly quarantineThreshold?: number;
  /** Engine CPU (%) of the busiest cache node that raises the cache CPU alarm. @default 80 */
  readonly cacheCpuThreshold?: number;
  /** Memory used (%) of the fullest cache node that raises the cache memory alarm. @default 80 */
  readonly cacheMemoryThreshold?: number;
}

type AlarmFactory = (
  name: string,
  metric: cloudwatch.IMetric,
  threshold: number,
  description: string,
) => cloudwatch.Alarm;

/** Alarms to an encrypted SNS topic, and one dashboard that follows a record through the pipeline. */
export class PipelineMonitoring extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const fn = props.analytics.function;
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Surge pipeline alarms',
      masterKey: new kms.Key(this, 'AlarmTopicKey', {
        enableKeyRotation: true,
        description: 'Surge alarm topic',
      }),
      enforceSSL: true,
    });
    // CloudWatch must be able to use the key to publish alarms to the encrypted topic.
    (this.alarmTopic.masterKey as kms.Key).grant(
      new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    if (props.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const surge = (metricName: string, statistic = 'Sum') =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: 'surge-analytics' },
        statistic,
        period: Duration.minutes(1),
      });
    const offsetLag = new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName: 'OffsetLag',
      dimensionsMap: { FunctionName: fn.functionName },
      statistic: 'Maximum',
      period: Duration.minutes(1),
    });

    const alarm = (
      name: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      description: string,
      periods = 3,
    ) => {
      const created = new cloudwatch.Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: periods,
        datapointsToAlarm: Math.min(periods, 2),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(new actions.SnsAction(this.alarmTopic));
      this.alarms.push(created);
      return created;
    };

    alarm(
      'OffsetLag',
      offsetLag,
      props.offsetLagThreshold ?? 100_000,
      'Consumers fall behind producers: raise pollers, concurrency or partitions',
    );
    alarm(
      'Errors',
      fn.metricErrors({ period: Duration.minutes(1) }),
      1,
      'Batches fail and are retried: Redis or Kafka unreachable?',
    );
    alarm(
      'Throttles',
      fn.metricThrottles({ period: Duration.minutes(1) }),
      1,
      'Invocations throttled by reserved concurrency',
    );
    alarm(
      'DurationNearTimeout',
      fn.metricDuration({ statistic: 'p99', period: Duration.minutes(1) }),
      props.timeout.toMilliseconds() * 0.8,
      'p99 duration above 80% of the timeout: lower the batch size or raise memory',
    );
    alarm(
      'QuarantineRate',
      surge('RecordsQuarantined').with({ period: Duration.minutes(5) }),
      props.quarantineThreshold ?? 100,
      'Many records quarantined to the dead-letter topic: a producer sends bad data',
      1,
    );
    if (props.failureQueue !== undefined) {
      alarm(
        'FailedBatches',
        props.failureQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        1,
        'Batches exhausted their retries and went to the failure destination',
        1,
      );
    }
    if (props.failureTopic !== undefined && props.eventSourceMappingId !== undefined) {
      alarm(
        'FailedToTopic',
        new cloudwatch.Metric({
          namespace: 'AWS/Lambda',
          metricName: 'OnFailureDestinationDeliveredEventCount',
          dimensionsMap: { EventSourceMappingUUID: props.eventSourceMappingId },
          statistic: 'Sum',
          period: Duration.minutes(1),
        }),
        1,
        `Records exhausted their retries and went to ${props.failureTopic}: replay them (npm run replay-failed) once the cause is fixed`,
        1,
      );
    }
    alarm(
      'StoreBehind',
      surge('StoreBehind'),
      1,
      'The cache is behind Kafka (lost writes after a failover or restore): batches are refused until it is rebuilt (npm run rebuild)',
      1,
    );
    alarm(
      'StateUnreadable',
      surge('Quarantined_STATE_UNREADABLE'),
      1,
      "A device's stored state cannot be read: its records go to the dead-letter topic with reason STATE_UNREADABLE",
      1,
    );
    alarm(
      'StartupFailures',
      surge('StartupFailures'),
      1,
      'The analytics function cannot start: configuration, cache secret or broker lookup',
      1,
    );
    const cacheMetrics = this.cacheAlarms(props, alarm);
    for (let broker = 1; broker <= props.cluster.brokerCount; broker++) {
      alarm(
        `BrokerDisk${broker}`,
        props.cluster.metricDiskUsed(broker),
        80,
        `Broker ${broker} disk above 80%: shorten retention or grow volumes`,
      );
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown:
              '## Surge: iot-data → event source mapping → analytics → Redis, processed-data, iot-alerts, iot-data-dlq',
            width: 24,
            height: 1,
          }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Consumer lag (records)', left: [offsetLag], width: 8 }),
          new cloudwatch.GraphWidget({
            title: 'Records per minute',
            left: [surge('RecordsApplied'), surge('RecordsDuplicate'), surge('RecordsQuarantined')],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Invocations',
            left: [fn.metricInvocations(), fn.metricErrors(), fn.metricThrottles()],
            right: [fn.metric('ConcurrentExecutions', { statistic: 'Maximum' })],
            width: 8,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Latency (ms, p99)',
            left: [surge('BatchLatency', 'p99'), surge('RedisLatency', 'p99'), surge('KafkaLatency', 'p99')],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Redis',
            left: cacheMetrics,
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Broker disk used (%)',
            left: Array.from({ length: props.cluster.brokerCount }, (_, i) =>
              props.cluster.metricDiskUsed(i + 1),
            ),
            width: 8,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
      ],
    });
  }

  /**
   * The cache alarms: engine CPU and memory of the busiest node (whichever is primary), or,
   * serverless, throttled commands (the cache scales itself until its limits); evictions in both.
   */
  private cacheAlarms(props: PipelineMonitoringProps, alarm: AlarmFactory): cloudwatch.IMetric[] {
    const { cache } = props;
    const evictions = cache.metricEvictions();
    alarm(
      'RedisEvictions',
      evictions,
      1,
      'Redis evicts keys: memory is short and the parameter group is not noeviction',
    );
    if (cache.clusterMode) {
      const throttled = cache.metricThrottledCommands();
      alarm('RedisThrottled', throttled, 1, 'Serverless cache throttles commands: raise its usage limits');
      return [throttled, evictions];
    }
    const cpu = cache.metricEngineCpuUtilization();
    const memory = cache.metricMemoryUsage();
    alarm(
      'RedisCpu',
      cpu,
      props.cacheCpuThreshold ?? 80,
      'Redis engine CPU high on the primary: lower concurrency or scale the node',
    );
    alarm(
      'RedisMemory',
      memory,
      props.cacheMemoryThreshold ?? 80,
      'Redis memory high: scale the node or shorten window TTL',
    );
    return [cpu, memory, evictions];
  }
}
