import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { describe, expect, it } from 'vitest';
import { SurgeFunction } from '../../../lib/constructs/surge-function';

function scope() {
  const stack = new Stack(new App(), 'Test');
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0 });
  const securityGroup = new ec2.SecurityGroup(stack, 'Sg', { vpc });
  return { stack, vpc, securityGroup };
}

describe('SurgeFunction', () => {
  it.each([
    [
      { memorySize: 1_024, semiSpaceMb: 200 },
      /semiSpaceMb must be a whole number from 1 to an eighth of memorySize \(1024 MB\), got 200/,
    ],
    [{ memorySize: 1_024, semiSpaceMb: 0 }, /semiSpaceMb .* got 0/],
    [{ memorySize: 64 }, /memorySize must be from 128 to 10240 MB, got 64/],
  ])('rejects %o with a message naming the value', (sizes, message) => {
    const { stack, vpc, securityGroup } = scope();
    expect(
      () =>
        new SurgeFunction(stack, 'Fn', {
          entry: 'functions/query/handler.ts',
          vpc,
          securityGroup,
          description: 'test',
          ...sizes,
        }),
    ).toThrow(message);
  });
});
