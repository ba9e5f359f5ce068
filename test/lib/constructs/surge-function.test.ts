import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { functionNodeOptions, SurgeFunction } from '../../../lib/constructs/surge-function';

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

  it('maps stack traces to the source at run time unless told not to', () => {
    const { stack, vpc, securityGroup } = scope();
    const props = { entry: 'functions/query/handler.ts', vpc, securityGroup, description: 'test' };
    const mapped = new SurgeFunction(stack, 'Mapped', props);
    const unmapped = new SurgeFunction(stack, 'Unmapped', { ...props, sourceMaps: false, semiSpaceMb: 64 });
    const nodeOptions = (fn: SurgeFunction) =>
      stack.resolve((fn.function.node.defaultChild as CfnFunction).environment).variables.NODE_OPTIONS;
    expect(nodeOptions(mapped)).toBe('--enable-source-maps');
    expect(nodeOptions(unmapped)).toBe('--max-semi-space-size=64');
  });
});

describe('functionNodeOptions', () => {
  it('enables source maps by default and adds the semi-space when given', () => {
    expect(functionNodeOptions({})).toEqual(['--enable-source-maps']);
    expect(functionNodeOptions({ semiSpaceMb: 128 })).toEqual([
      '--enable-source-maps',
      '--max-semi-space-size=128',
    ]);
    expect(functionNodeOptions({ sourceMaps: false })).toEqual([]);
  });
});
