import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthStage } from '../../support/synth';

const dev = synthStage('dev');
const prod = synthStage('prod');

describe('api stack', () => {
  it('serves the three query routes with IAM authorization', () => {
    const routes = Object.values(dev.template('api').findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([
      'GET /devices/{deviceId}',
      'GET /devices/{deviceId}/windows',
      'GET /stats',
    ]);
    for (const route of routes) expect(route.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('throttles per stage and writes access logs', () => {
    prod.template('api').hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1_000 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });

  it('logs HTTP API variables only: the route key and integration errors, no REST resource path', () => {
    const stage = Object.values(prod.template('api').findResources('AWS::ApiGatewayV2::Stage'))[0];
    const format = stage?.Properties.AccessLogSettings.Format as string;
    expect(format).not.toContain('resourcePath');
    expect(JSON.parse(format)).toMatchObject({
      routeKey: '$context.routeKey',
      integrationError: '$context.integrationErrorMessage',
      status: '$context.status',
    });
  });

  it('runs the query function in the VPC with only read access to the AUTH token', () => {
    const template = dev.template('api');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      VpcConfig: Match.anyValue(),
      Environment: { Variables: Match.objectLike({ REDIS_URL: Match.anyValue() }) },
    });
    const secretActions = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: { Action: string[] }) => [s.Action].flat().some((a) => a.startsWith('secretsmanager:')))
      .flatMap((s: { Action: string[] }) => [s.Action].flat());
    expect(secretActions.sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
  });
});
