import { spawnSync } from 'node:child_process';
import {
  CloudFormationClient,
  DescribeStackResourcesCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeAvailabilityZonesCommand,
  DescribeInstanceTypeOfferingsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  DescribeCacheEngineVersionsCommand,
  DescribeReservedCacheNodesOfferingsCommand,
  ElastiCacheClient,
} from '@aws-sdk/client-elasticache';
import { KafkaClient, ListKafkaVersionsCommand } from '@aws-sdk/client-kafka';
import {
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadStageConfig, type StageConfig } from '../../../lib/config/stage-config';
import { PROJECT_ROOT } from '../../../lib/constructs/surge-function';
import { parseArguments } from '../../../ops/preflight/arguments';
import { BOOTSTRAP_VERSION_PARAMETER, preflightClients } from '../../../ops/preflight/checks';
import { failed, formatReport, type PreflightReport, runPreflight } from '../../../ops/preflight/preflight';
import {
  type CfnTemplate,
  requiredBootstrapVersion,
  synthesizeTemplates,
} from '../../../ops/preflight/templates';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];

const lambda = mockClient(LambdaClient);
const kafka = mockClient(KafkaClient);
const ec2 = mockClient(EC2Client);
const elasticache = mockClient(ElastiCacheClient);
const ssm = mockClient(SSMClient);
const cloudformation = mockClient(CloudFormationClient);

/** An account where everything the stage needs is there, and nothing is deployed yet. */
function healthyAccount(): void {
  lambda
    .on(GetAccountSettingsCommand)
    .resolves({ AccountLimit: { ConcurrentExecutions: 1_000, UnreservedConcurrentExecutions: 1_000 } });
  kafka.on(ListKafkaVersionsCommand).resolves({
    KafkaVersions: [
      { Version: '3.7.x', Status: 'ACTIVE' },
      { Version: '3.9.x.kraft', Status: 'ACTIVE' },
    ],
  });
  ec2.on(DescribeAvailabilityZonesCommand).resolves({
    AvailabilityZones: ZONES.map((ZoneName) => ({ ZoneName, State: 'available' })),
  });
  ec2.on(DescribeInstanceTypeOfferingsCommand).resolves({
    InstanceTypeOfferings: ZONES.map((Location) => ({ Location })),
  });
  elasticache.on(DescribeCacheEngineVersionsCommand).resolves({
    CacheEngineVersions: [{ EngineVersion: '8.0' }, { EngineVersion: '8.1' }, { EngineVersion: '9.0' }],
  });
  elasticache
    .on(DescribeReservedCacheNodesOfferingsCommand)
    .resolves({ ReservedCacheNodesOfferings: [{ ReservedCacheNodesOfferingId: 'x' }] });
  ssm.on(GetParameterCommand, { Name: BOOTSTRAP_VERSION_PARAMETER }).resolves({ Parameter: { Value: '28' } });
  cloudformation
    .on(GetTemplateCommand)
    .rejects(
      Object.assign(new Error('Stack with id Surge-dev-Network does not exist'), { name: 'ValidationError' }),
    );
  cloudformation
    .on(DescribeStackResourcesCommand)
    .rejects(
      Object.assign(new Error('Stack with id Surge-dev-Network does not exist'), { name: 'ValidationError' }),
    );
}

const synthesized = new Map<string, Map<string, CfnTemplate>>();
function templatesOf(config: StageConfig): Map<string, CfnTemplate> {
  const key = JSON.stringify(config);
  let templates = synthesized.get(key);
  if (templates === undefined) {
    templates = synthesizeTemplates(config, { account: ACCOUNT, region: REGION });
    synthesized.set(key, templates);
  }
  return templates;
}

async function preflight(config: StageConfig, templates = templatesOf(config)): Promise<PreflightReport> {
  return runPreflight({
    config,
    templates,
    clients: preflightClients(REGION),
    account: ACCOUNT,
    region: REGION,
  });
}

function messages(report: PreflightReport, level: 'ok' | 'warn' | 'fail'): string[] {
  return report.findings.filter((f) => f.level === level).map((f) => `${f.check}: ${f.message}`);
}

beforeEach(() => {
  for (const client of [lambda, kafka, ec2, elasticache, ssm, cloudformation]) client.reset();
  healthyAccount();
});

afterEach(() => {
  for (const client of [lambda, kafka, ec2, elasticache, ssm, cloudformation]) client.reset();
});

describe('npm run preflight', () => {
  it('passes a stage the account can take, and says what it creates and roughly costs', async () => {
    const report = await preflight(loadStageConfig('dev'));
    expect(messages(report, 'fail')).toEqual([]);
    expect(failed(report)).toBe(false);
    expect(report.resources.get('AWS::MSK::Cluster')).toEqual({ total: 1, deployed: 0 });
    const text = formatReport(report);
    expect(text).toContain('2 × kafka.t3.small MSK brokers');
    // 2 brokers × $0.0456 × 730 h
    expect(text).toMatch(/66\.58 {2}2 × kafka\.t3\.small MSK brokers/);
    expect(text).toMatch(/in all, plus usage/);
    expect(text).toContain('npx cdk deploy --all -c stage=dev');
  }, 60_000);

  it('fails when the concurrency quota cannot cover the reservation, naming the setting', async () => {
    lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    const report = await preflight(loadStageConfig('dev'));
    expect(failed(report)).toBe(true);
    expect(messages(report, 'fail').join('\n')).toMatch(
      /analytics\.reservedConcurrency: the stage reserves 7 concurrent executions, the account can reserve 0 \(quota 10/,
    );
    // With nothing reserved, the same account passes.
    const unreserved = await preflight(loadStageConfig('dev', { analytics: { reservedConcurrency: null } }));
    expect(messages(unreserved, 'fail')).toEqual([]);
  }, 60_000);

  it('counts what the deployed functions already reserve as available to the redeploy', async () => {
    lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 110, UnreservedConcurrentExecutions: 103 } });
    const config = loadStageConfig('dev');
    const templates = templatesOf(config);
    cloudformation.on(GetTemplateCommand).callsFake(({ StackName }) => ({
      TemplateBody: JSON.stringify(templates.get(StackName)),
    }));
    cloudformation.on(DescribeStackResourcesCommand).callsFake(({ StackName }) => ({
      StackResources: StackName.endsWith('Processing')
        ? [
            { ResourceType: 'AWS::Lambda::Function', PhysicalResourceId: 'analytics' },
            { ResourceType: 'AWS::Lambda::Function', PhysicalResourceId: 'simulator' },
          ]
        : [],
    }));
    lambda
      .on(GetFunctionConcurrencyCommand, { FunctionName: 'analytics' })
      .resolves({ ReservedConcurrentExecutions: 6 });
    lambda
      .on(GetFunctionConcurrencyCommand, { FunctionName: 'simulator' })
      .resolves({ ReservedConcurrentExecutions: 1 });
    const report = await preflight(config, templates);
    expect(messages(report, 'fail')).toEqual([]);
    expect(report.resources.get('AWS::MSK::Cluster')).toEqual({ total: 1, deployed: 1 });
  }, 60_000);

  it('fails a Kafka version, broker type, Valkey version or node type the region does not offer', async () => {
    kafka.on(ListKafkaVersionsCommand).resolves({ KafkaVersions: [{ Version: '3.7.x', Status: 'ACTIVE' }] });
    ec2.on(DescribeInstanceTypeOfferingsCommand).resolves({
      InstanceTypeOfferings: [{ Location: 'eu-west-1a' }, { Location: 'eu-west-1b' }],
    });
    elasticache
      .on(DescribeCacheEngineVersionsCommand)
      .resolves({ CacheEngineVersions: [{ EngineVersion: '8.0' }] });
    elasticache.on(DescribeReservedCacheNodesOfferingsCommand).resolves({ ReservedCacheNodesOfferings: [] });
    const report = await preflight(loadStageConfig('prod'));
    const fails = messages(report, 'fail').join('\n');
    expect(fails).toMatch(/kafka\.kafkaVersion 3\.9\.x\.kraft is not offered here; active versions: 3\.7\.x/);
    expect(fails).toMatch(/kafka\.brokerInstanceType kafka\.m7g\.large is not offered in eu-west-1c/);
    expect(fails).toMatch(
      /cache\.engineVersion 9\.0 is not offered here \(durability sync needs 9\.0 or later\)/,
    );
    expect(fails).toMatch(/cache\.nodeType cache\.r7g\.large is not offered here/);
    const offeringsAsked = ec2.commandCalls(DescribeInstanceTypeOfferingsCommand)[0]?.args[0].input;
    expect(offeringsAsked?.Filters).toEqual([{ Name: 'instance-type', Values: ['m7g.large'] }]);
  }, 60_000);

  it('fails an account that is not bootstrapped, or bootstrapped too long ago, with the command to run', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    const missing = await preflight(loadStageConfig('dev'));
    expect(messages(missing, 'fail').join('\n')).toContain(
      `not bootstrapped: run npx cdk bootstrap aws://${ACCOUNT}/${REGION}`,
    );
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '5' } });
    const old = await preflight(loadStageConfig('dev'));
    const required = requiredBootstrapVersion(templatesOf(loadStageConfig('dev')).values());
    expect(required).toBeGreaterThan(5);
    expect(messages(old, 'fail').join('\n')).toContain(
      `bootstrap version 5, the templates need ${required} or later`,
    );
  }, 60_000);

  it('fails a change of topic replication factor or fewer partitions on a deployed stage', async () => {
    const deployedConfig = loadStageConfig('prod');
    const deployed = templatesOf(deployedConfig);
    cloudformation.on(GetTemplateCommand).callsFake(({ StackName }) => ({
      TemplateBody: JSON.stringify(deployed.get(StackName)),
    }));
    cloudformation.on(DescribeStackResourcesCommand).resolves({ StackResources: [] });
    const changed = loadStageConfig('prod', { kafka: { replicationFactor: 2, partitions: 12 } });
    const fails = messages(await preflight(changed), 'fail').join('\n');
    expect(fails).toMatch(/topic iot-data: replication factor 3 → 2 would replace the topic/);
    expect(fails).toMatch(/topic iot-data: Kafka cannot lower partitions from 24 to 12/);
  }, 60_000);

  it('fails a logical id that would change resource type on a deployed stage', async () => {
    const config = loadStageConfig('dev');
    const templates = templatesOf(config);
    const streaming = templates.get('Surge-dev-Streaming') as CfnTemplate;
    const [clusterId] =
      Object.entries(streaming.Resources).find(([, r]) => r.Type === 'AWS::MSK::Cluster') ?? [];
    // A deployed template in which that id held another type, as a hand-made construct id change would leave it.
    const tampered = {
      ...streaming,
      Resources: { ...streaming.Resources, [clusterId as string]: { Type: 'AWS::MSK::ServerlessCluster' } },
    };
    cloudformation.on(GetTemplateCommand).callsFake(({ StackName }) => ({
      TemplateBody: JSON.stringify(StackName === 'Surge-dev-Streaming' ? tampered : templates.get(StackName)),
    }));
    cloudformation.on(DescribeStackResourcesCommand).resolves({ StackResources: [] });
    const fails = messages(await preflight(config, templates), 'fail').join('\n');
    expect(fails).toContain(
      `Surge-dev-Streaming/${clusterId} would change from AWS::MSK::ServerlessCluster to AWS::MSK::Cluster`,
    );
  }, 60_000);
});

describe('the preflight command line', () => {
  it('takes the stage and overrides as the CDK CLI does, and refuses anything else', () => {
    expect(
      parseArguments(['-c', 'stage=prod', '-c', 'overrides={"simulator":true}', '--region', 'eu-west-1']),
    ).toEqual({
      stage: 'prod',
      overrides: { simulator: true },
      region: 'eu-west-1',
    });
    expect(() => parseArguments(['--stage', 'prod'])).toThrow(/unknown argument "--stage"/);
    expect(() => parseArguments(['-c', 'stage'])).toThrow(/-c takes key=value/);
  });

  it('exits 2 with what to set when it cannot ask AWS who you are', () => {
    const result = spawnSync(
      'npm',
      ['run', '--silent', 'preflight', '--', '-c', 'stage=dev', '--region', REGION],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: '',
          AWS_SECRET_ACCESS_KEY: '',
          AWS_PROFILE: '',
          AWS_CONFIG_FILE: '/nonexistent',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      },
    );
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/cannot ask AWS who you are .*set credentials and a region/);
  }, 60_000);
});
