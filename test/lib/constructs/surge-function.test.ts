import { App, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { functionNodeFlags, SurgeFunction } from '../../../lib/constructs/surge-function';

function scope() {
  const stack = new Stack(new App(), 'Test');
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0 });
  const securityGroup = new ec2.SecurityGroup(stack, 'Sg', { vpc });
  return { stack, vpc, securityGroup };
}

describe('SurgeFunction', () => {
  it.each([
    [{ memorySize: 1_024, semiSpaceMb: 200 }, /semiSpaceMb must be a whole number from 1 to 128, got 200/],
    [{ memorySize: 1_024, semiSpaceMb: 0 }, /semiSpaceMb .* got 0/],
    [{ memorySize: 64 }, /memorySize must be a whole number from 128 to 10240, got 64/],
    [
      { semiSpaceMb: 32, initialSemiSpaceMb: 64 },
      /initialSemiSpaceMb must be a whole number from 0 to 32, got 64/,
    ],
    [{ initialSemiSpaceMb: 1.5 }, /initialSemiSpaceMb .* got 1.5/],
    [
      { initialSemiSpaceMb: Token.asNumber({ Ref: 'Size' }) },
      /initialSemiSpaceMb must be a number known at synthesis/,
    ],
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

  it('starts through the launch wrapper only when a flag needs it', () => {
    const { stack, vpc, securityGroup } = scope();
    const props = { entry: 'functions/query/handler.ts', vpc, securityGroup, description: 'test' };
    const plain = new SurgeFunction(stack, 'Plain', props);
    const launched = new SurgeFunction(stack, 'Launched', {
      ...props,
      semiSpaceMb: 64,
      initialSemiSpaceMb: 32,
    });
    const variables = (fn: SurgeFunction) =>
      stack.resolve((fn.function.node.defaultChild as CfnFunction).environment).variables;
    expect(variables(plain).AWS_LAMBDA_EXEC_WRAPPER).toBeUndefined();
    expect(variables(launched).AWS_LAMBDA_EXEC_WRAPPER).toBe('/opt/surge-launch');
    expect(variables(launched).NODE_OPTIONS).not.toContain('min-semi-space');
    const layers = (fn: SurgeFunction) =>
      stack.resolve((fn.function.node.defaultChild as CfnFunction).layers);
    expect(layers(plain)).toBeUndefined();
    expect(layers(launched)).toHaveLength(1);
  });
});

describe('functionNodeFlags', () => {
  it('enables source maps by default and adds the semi-space when given', () => {
    expect(functionNodeFlags({}).nodeOptions).toEqual(['--enable-source-maps']);
    expect(functionNodeFlags({ semiSpaceMb: 128 }).nodeOptions).toEqual([
      '--enable-source-maps',
      '--max-semi-space-size=128',
    ]);
    expect(functionNodeFlags({ sourceMaps: false })).toEqual({ nodeOptions: [], launchFlags: [] });
  });

  it('gives the initial semi-space as a launch flag, since NODE_OPTIONS refuses it', () => {
    expect(functionNodeFlags({ semiSpaceMb: 128, initialSemiSpaceMb: 64 })).toEqual({
      nodeOptions: ['--enable-source-maps', '--max-semi-space-size=128'],
      launchFlags: ['--min-semi-space-size=64'],
    });
    expect(functionNodeFlags({ initialSemiSpaceMb: 0 }).launchFlags).toEqual([]);
  });
});

describe('SurgeFunction placement and role', () => {
  it('runs in the isolated subnets unless given others, and with a role of its own unless given one', () => {
    const stack = new Stack(new App(), 'Placement');
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      natGateways: 0,
      subnetConfiguration: [
        { name: 'functions', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        { name: 'other', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
    });
    const securityGroup = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    const props = { entry: 'functions/query/handler.ts', vpc, securityGroup, description: 'test' };
    const role = new iam.Role(stack, 'Given', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    const plain = new SurgeFunction(stack, 'Plain', props);
    const placed = new SurgeFunction(stack, 'Placed', {
      ...props,
      vpcSubnets: { subnetGroupName: 'other' },
      role,
    });
    const subnets = (fn: SurgeFunction) =>
      stack.resolve((fn.function.node.defaultChild as CfnFunction).vpcConfig).subnetIds as unknown[];
    const group = (name: string) => stack.resolve(vpc.selectSubnets({ subnetGroupName: name }).subnetIds);
    expect(subnets(plain)).toEqual(stack.resolve(vpc.isolatedSubnets.map((s) => s.subnetId)));
    expect(subnets(placed)).toEqual(group('other'));
    expect(subnets(placed)).not.toEqual(subnets(plain));
    expect(placed.role).toBe(role);
    expect(placed.node.tryFindChild('Role')).toBeUndefined();
    expect(plain.node.tryFindChild('Role')).toBeDefined();
  });
});
