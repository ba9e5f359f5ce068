import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct, IConstruct } from 'constructs';

/**
 * Acknowledges the two cdk-nag findings on functions that aws-cdk-lib itself creates for custom
 * resources (their role and runtime are not ours to choose).
 */
export function acknowledgeFrameworkFunction(scope: IConstruct, what: string): void {
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: `The ${what} function of aws-cdk-lib only writes its own logs with this policy`,
  });
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-L1',
    reason: `The ${what} function and its runtime are chosen by aws-cdk-lib`,
  });
}

/**
 * The log group of aws-cdk-lib's AwsCustomResource singleton in `scope`'s stack: every deploy-time
 * lookup of the stack (broker lists, shared values) runs in that one function, which logs here.
 */
export function deployTimeLookupLogs(scope: IConstruct, retentionDays: number): logs.ILogGroup {
  const stack = Stack.of(scope);
  return (
    (stack.node.tryFindChild('DeployTimeLookupLogs') as logs.ILogGroup | undefined) ??
    new logs.LogGroup(stack, 'DeployTimeLookupLogs', {
      retention: retentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    })
  );
}

/** Construct id of aws-cdk-lib's AwsCustomResource singleton function. */
export const AWS_CUSTOM_RESOURCE_SINGLETON = 'AWS679f53fac002430cb0da5b7982bd2287';

/**
 * One AWS API call made at deploy time, outside the VPC, by aws-cdk-lib's AwsCustomResource
 * (created once under `scope` by `id`), allowed on `resources` only; its answer is read with
 * `getResponseField`.
 */
export function deployTimeLookup(
  scope: Construct,
  id: string,
  props: {
    readonly call: cr.AwsSdkCall;
    readonly resources: readonly string[];
    readonly logRetentionDays: number;
  },
): cr.AwsCustomResource {
  const existing = scope.node.tryFindChild(id) as cr.AwsCustomResource | undefined;
  if (existing !== undefined) return existing;
  const lookup = new cr.AwsCustomResource(scope, id, {
    onUpdate: props.call,
    policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [...props.resources] }),
    installLatestAwsSdk: false,
    logGroup: deployTimeLookupLogs(scope, props.logRetentionDays),
  });
  // The lookup runs in aws-cdk-lib's singleton function, created beside the stack's other resources.
  const singleton = Stack.of(scope).node.tryFindChild(AWS_CUSTOM_RESOURCE_SINGLETON);
  if (singleton !== undefined) acknowledgeFrameworkFunction(singleton, 'AwsCustomResource singleton');
  return lookup;
}
