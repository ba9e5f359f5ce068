import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import { RedisCache } from '../constructs/redis-cache';
import { SurgeFunction } from '../constructs/surge-function';

/** One JSON line per request, in HTTP API (payload 2.0) context variables. */
export const HTTP_API_ACCESS_LOG = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
} as const;

export interface ApiStackProps extends StackProps {
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly functionSecurityGroup: ec2.ISecurityGroup;
  readonly cache: RedisCache;
}

/** The query function behind an HTTP API: IAM-signed requests, throttled, access-logged. */
export class ApiStack extends Stack {
  readonly query: SurgeFunction;
  readonly api: apigw.HttpApi;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config } = props;
    // Read at deploy time, not imported: replacing the cache is never blocked by an export in use.
    const cache = RedisCache.fromCacheAttributes(
      this,
      'Cache',
      props.cache.attributesFor(this, { metrics: false }),
    );
    this.query = new SurgeFunction(this, 'Query', {
      entry: 'functions/query/handler.ts',
      description: 'Surge query API over the device aggregates',
      vpc: props.vpc,
      securityGroup: props.functionSecurityGroup,
      memorySize: config.api.memoryMb,
      logRetention: config.logRetentionDays,
      environment: {
        // The read-only cache user: the query API cannot change what it serves.
        REDIS_URL: cache.reader.url,
        REDIS_AUTH_SECRET_ARN: cache.reader.secret.secretArn,
        REDIS_CLUSTER: String(cache.clusterMode),
      },
    });
    cache.grantConnect(this.query, 'read');
    cache.connections.allowDefaultPortFrom(this.query, 'Query function to Redis');

    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Surge device analytics',
      createDefaultStage: false,
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: config.logRetentionDays });
    const stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.api.rateLimit, burstLimit: config.api.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        // HTTP API variables: $context.resourcePath (in the REST standard fields) does not exist here.
        format: AccessLogFormat.custom(JSON.stringify(HTTP_API_ACCESS_LOG)),
      },
    });
    const integration = new HttpLambdaIntegration('Query', this.query.function);
    for (const path of ['/devices/{deviceId}', '/devices/{deviceId}/windows', '/stats']) {
      this.api.addRoutes({ path, methods: [apigw.HttpMethod.GET], integration });
    }
    new CfnOutput(this, 'ApiUrl', { value: stage.url, description: 'Query API (SigV4-signed requests)' });
  }
}
