import { createHash } from 'node:crypto';
import { Names, Stack } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { deployTimeLookup } from './framework-functions';

export interface SharedValueProps {
  /** The value, usually an attribute of a resource of the same stack. */
  readonly value: string;
  /**
   * Changes whenever the resource behind the value is replaced (see `generationOf`). It is part of
   * the parameter's name, so that every reader's template changes with it and reads again.
   */
  readonly generation: string;
  readonly description: string;
  /**
   * Days the logs of the readers' deploy-time lookups are kept.
   * @default 14
   */
  readonly logRetentionDays?: number;
}

/**
 * A short hash of what decides whether a resource is replaced (its type, subnets, security group,
 * key): the generation of a name, or of a shared value, that must change when the resource does.
 */
export function generationOf(...parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 8);
}

/**
 * A value one stack hands to others without a CloudFormation export. An export that another stack
 * imports can neither change nor go away, so replacing the resource behind it (switching
 * `kafka.mode` or `cache.mode`, or moving to other subnets) would be refused. Here the value is
 * written to an SSM parameter, and each reading stack reads it at deploy time with a lookup whose
 * role may read that one parameter. (A CloudFormation parameter of type
 * `AWS::SSM::Parameter::Value<String>` would need the CDK deploy role to read SSM, which the
 * default bootstrap does not allow.)
 */
export class SharedValue extends Construct {
  readonly parameterName: string;
  private readonly value: string;
  private readonly logRetentionDays: number;

  constructor(scope: Construct, id: string, props: SharedValueProps) {
    super(scope, id);
    this.value = props.value;
    this.logRetentionDays = props.logRetentionDays ?? 14;
    const stack = Stack.of(this);
    this.parameterName = `/${stack.stackName}/${Names.uniqueId(this)}/${props.generation}`;
    new ssm.StringParameter(this, 'Parameter', {
      parameterName: this.parameterName,
      stringValue: props.value,
      description: props.description,
    });
  }

  /** The value as `reader`'s stack sees it: itself in the same stack, else read at deploy time. */
  valueIn(reader: Construct): string {
    const producer = Stack.of(this);
    const consumer = Stack.of(reader);
    if (producer === consumer) return this.value;
    consumer.addStackDependency(producer, `reads ${this.parameterName}`);
    const lookup = deployTimeLookup(consumer, `Read${Names.uniqueId(this)}`, {
      call: {
        service: 'SSM',
        action: 'getParameter',
        parameters: { Name: this.parameterName },
        physicalResourceId: cr.PhysicalResourceId.of(this.parameterName),
        outputPaths: ['Parameter.Value'],
      },
      resources: [
        consumer.formatArn({
          service: 'ssm',
          resource: 'parameter',
          resourceName: this.parameterName.slice(1),
        }),
      ],
      logRetentionDays: this.logRetentionDays,
    });
    return lookup.getResponseField('Parameter.Value');
  }
}
