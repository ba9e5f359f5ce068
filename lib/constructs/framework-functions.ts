import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

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
