import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { kafkaProducerRetry, type StageConfig, waitReplicas } from '../config/stage-config';
import { KafkaCluster } from '../constructs/kafka-cluster';
import { PipelineMonitoring } from '../constructs/pipeline-monitoring';
import { RedisCache } from '../constructs/redis-cache';
import { SurgeFunction } from '../constructs/surge-function';

export interface ProcessingStackProps extends StackProps {
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly functionSecurityGroup: ec2.ISecurityGroup;
  readonly cluster: KafkaCluster;
  readonly cache: RedisCache;
}

/**
 * The analytics function and its MSK event source mapping, where every backpressure and failure
 * knob of the stage configuration lands; alarms and the dashboard.
 */
export class ProcessingStack extends Stack {
  readonly analytics: SurgeFunction;
  readonly eventSource: sources.ManagedKafkaEventSource;
  readonly monitoring: PipelineMonitoring;
  /** The device simulator, in stages with `simulator: true`. */
  readonly simulator?: SurgeFunction;

  constructor(scope: Construct, id: string, props: ProcessingStackProps) {
    super(scope, id, props);
    const { config } = props;
    // Read at deploy time, not imported: replacing the cluster or the cache is then never blocked
    // by an export in use (README, "Deploying for real").
    const cluster = KafkaCluster.fromClusterAttributes(this, 'Cluster', props.cluster.attributesFor(this));
    const cache = RedisCache.fromCacheAttributes(this, 'Cache', props.cache.attributesFor(this));
    const { analytics: settings, eventSource: es, topics } = config;
    const timeout = Duration.seconds(settings.timeoutSeconds);
    // Cold starts together must all get a broker connection within the brokers' connection rate.
    const retry = kafkaProducerRetry(config);
    const kafkaRetryEnvironment = {
      KAFKA_RETRIES: String(retry.retries),
      KAFKA_RETRY_INITIAL_MS: String(retry.initialRetryTimeMs),
      KAFKA_RETRY_MAX_MS: String(retry.maxRetryTimeMs),
    };

    this.analytics = new SurgeFunction(this, 'Analytics', {
      entry: 'functions/analytics/handler.ts',
      description: 'Surge analytics: MSK batches to exactly-once aggregates',
      vpc: props.vpc,
      securityGroup: props.functionSecurityGroup,
      memorySize: settings.memoryMb,
      semiSpaceMb: settings.semiSpaceMb,
      initialSemiSpaceMb: settings.initialSemiSpaceMb,
      sourceMaps: settings.sourceMaps,
      timeout,
      reservedConcurrentExecutions: settings.reservedConcurrency ?? undefined,
      bundleSchemas: true,
      logRetention: config.logRetentionDays,
      environment: {
        REDIS_URL: cache.writer.url,
        REDIS_AUTH_SECRET_ARN: cache.writer.secret.secretArn,
        REDIS_CLUSTER: String(cache.clusterMode),
        // Without synchronous durability, a batch counts as applied once its replicas have it.
        REDIS_WAIT_REPLICAS: String(waitReplicas(config.cache)),
        REDIS_WAIT_TIMEOUT_MS: String(config.cache.waitTimeoutMs),
        KAFKA_MAX_MESSAGE_BYTES: String(config.kafka.maxMessageBytes),
        // Brokers come from the event's bootstrapServers: no control-plane call, no extra endpoint.
        KAFKA_AUTH: config.localstack ? 'none' : 'aws-iam',
        KAFKA_IDEMPOTENT: String(!config.localstack),
        KAFKA_COMPRESSION: settings.kafkaCompression,
        ...kafkaRetryEnvironment,
        TOPIC_INPUT: topics.input,
        TOPIC_SUMMARIES: topics.summaries,
        TOPIC_ALERTS: topics.alerts,
        TOPIC_DEAD_LETTER: topics.deadLetter,
        TOPIC_FAILED: topics.failed,
        ALERT_TEMPERATURE_THRESHOLD: String(settings.alertTemperatureThreshold),
        WINDOW_TTL_SECONDS: String(settings.windowTtlSeconds),
        // A partition's first batch is checked against where its log begins (ListOffsets, which the
        // consume grant's DescribeTopic on the input topic allows).
        EVENT_SOURCE_STARTING_POSITION: es.startingPosition,
        POWERTOOLS_LOG_LEVEL: config.stage === 'prod' ? 'WARN' : 'INFO',
      },
    });
    cache.grantConnect(this.analytics);
    cache.connections.allowDefaultPortFrom(this.analytics, 'Analytics function to Redis');
    cluster.connections.allowDefaultPortFrom(this.analytics, 'Analytics function to brokers (IAM auth, TLS)');
    cluster.grantConsume(this.analytics, topics.input, es.consumerGroupId);
    // The failure topic is written by the mapping's pollers with the function's role.
    cluster.grantProduce(
      this.analytics,
      [topics.summaries, topics.alerts, topics.deadLetter, topics.failed],
      {
        idempotent: !config.localstack,
      },
    );

    let failureQueue: sqs.Queue | undefined;
    let onFailure: lambda.IEventSourceDlq | undefined;
    if (es.onFailure === 'kafka') {
      // A topic of its own: AWS writes JSON documents there, not the quarantine contract of iot-data-dlq.
      onFailure = new sources.KafkaDlq(topics.failed);
    } else if (es.onFailure === 'sqs') {
      const key = new kms.Key(this, 'FailedBatchesKey', {
        enableKeyRotation: true,
        description: 'Surge failed batches',
      });
      failureQueue = new sqs.Queue(this, 'FailedBatches', {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: key,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      onFailure = new sources.SqsDlq(failureQueue);
      Validations.of(failureQueue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is the failure destination of the event source mapping: the last stop, drained by operators',
      });
      for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
        Validations.of(this.analytics.role).acknowledge({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason:
            'Sending to the encrypted failure queue needs these KMS actions, on that one queue key only',
        });
      }
    }

    // LocalStack's mapping has no provisioned mode, so the provisioned-mode knobs stay unset there.
    const provisioned = es.provisionedPollers !== undefined;
    this.eventSource = new sources.ManagedKafkaEventSource({
      clusterArn: cluster.clusterArn,
      topic: topics.input,
      consumerGroupId: es.consumerGroupId,
      startingPosition: lambda.StartingPosition[es.startingPosition],
      batchSize: es.batchSize,
      maxBatchingWindow: Duration.seconds(es.maxBatchingWindowSeconds),
      ...(provisioned
        ? {
            provisionedPollerConfig: {
              minimumPollers: es.provisionedPollers?.minimum ?? 1,
              maximumPollers: es.provisionedPollers?.maximum ?? 1,
            },
            retryAttempts: es.retryAttempts === -1 ? undefined : es.retryAttempts,
            maxRecordAge:
              es.maxRecordAgeSeconds === -1 ? undefined : Duration.seconds(es.maxRecordAgeSeconds),
            bisectBatchOnError: es.bisectBatchOnError,
            reportBatchItemFailures: es.reportBatchItemFailures,
            onFailure,
            metricsConfig: {
              metrics: [
                lambda.MetricType.EVENT_COUNT,
                lambda.MetricType.ERROR_COUNT,
                lambda.MetricType.KAFKA_METRICS,
              ],
            },
          }
        : {}),
    });
    this.analytics.function.addEventSource(this.eventSource);
    Validations.of(this.analytics.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole]',
      reason:
        'ManagedKafkaEventSource attaches AWSLambdaMSKExecutionRole, the policy AWS maintains for MSK pollers; the kafka-cluster data-plane actions are granted separately on exact ARNs',
    });

    // A fleet inside the VPC for trying a deployment: `aws lambda invoke` publishes generated telemetry.
    // Only in stages that ask for it (not prod): it can write to the input topic.
    if (config.simulator) {
      const auth = config.localstack ? 'none' : 'aws-iam';
      this.simulator = new SurgeFunction(this, 'Simulator', {
        entry: 'functions/simulator/handler.ts',
        description: 'Surge device simulator: publishes generated telemetry to iot-data',
        vpc: props.vpc,
        securityGroup: props.functionSecurityGroup,
        memorySize: 1_024,
        timeout: Duration.minutes(5),
        // One at a time, unless the stage reserves nothing (an account with a small concurrency quota).
        reservedConcurrentExecutions: settings.reservedConcurrency === null ? undefined : 1,
        bundleSchemas: true,
        logRetention: config.logRetentionDays,
        environment: {
          KAFKA_BROKERS: cluster.bootstrapBrokers(auth),
          KAFKA_AUTH: auth,
          KAFKA_IDEMPOTENT: String(!config.localstack),
          ...kafkaRetryEnvironment,
          TOPIC_INPUT: topics.input,
        },
      });
      cluster.grantProduce(this.simulator, [topics.input], { idempotent: !config.localstack });
      cluster.connections.allowDefaultPortFrom(this.simulator, 'Simulator to brokers (IAM auth, TLS)');
      new CfnOutput(this, 'SimulatorFunctionName', { value: this.simulator.function.functionName });
    }

    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      analytics: this.analytics,
      timeout,
      cluster,
      cache,
      failureQueue,
      failureTopic: es.onFailure === 'kafka' ? topics.failed : undefined,
      eventSourceMappingId: this.eventSource.eventSourceMappingId,
      alarmEmail: config.alarmEmail,
    });
    new CfnOutput(this, 'AnalyticsFunctionName', { value: this.analytics.function.functionName });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.alarmTopic.topicArn });
  }
}
