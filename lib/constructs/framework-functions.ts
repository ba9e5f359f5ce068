import { Validations } from 'aws-cdk-lib';
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
