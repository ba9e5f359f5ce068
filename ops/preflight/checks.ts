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
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { StageConfig } from '../../lib/config/stage-config';
import { type CfnTemplate, requiredBootstrapVersion, reservedConcurrency, topicsOf } from './templates';

/** The read-only clients the preflight calls, one per service; tests hand in mocked ones. */
export interface PreflightClients {
  readonly lambda: LambdaClient;
  readonly kafka: KafkaClient;
  readonly ec2: EC2Client;
  readonly elasticache: ElastiCacheClient;
  readonly ssm: SSMClient;
  readonly cloudformation: CloudFormationClient;
}

export function preflightClients(region: string): PreflightClients {
  return {
    lambda: new LambdaClient({ region }),
    kafka: new KafkaClient({ region }),
    ec2: new EC2Client({ region }),
    elasticache: new ElastiCacheClient({ region }),
    ssm: new SSMClient({ region }),
    cloudformation: new CloudFormationClient({ region }),
  };
}

export interface Finding {
  readonly level: 'ok' | 'warn' | 'fail';
  readonly check: string;
  readonly message: string;
}

/** Lambda keeps this much of the account's concurrency unreserved. */
export const UNRESERVED_MINIMUM = 100;
/** The CDK's default bootstrap qualifier. */
export const BOOTSTRAP_VERSION_PARAMETER = '/cdk-bootstrap/hnb659fds/version';

export interface DeployedStack {
  readonly template: CfnTemplate;
  readonly functions: readonly string[];
}

/** A deployed stack's template and functions, or undefined when the stack does not exist yet. */
export async function deployedStack(
  clients: PreflightClients,
  stackName: string,
): Promise<DeployedStack | undefined> {
  try {
    const [template, resources] = await Promise.all([
      clients.cloudformation.send(
        new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }),
      ),
      clients.cloudformation.send(new DescribeStackResourcesCommand({ StackName: stackName })),
    ]);
    return {
      template: JSON.parse(template.TemplateBody ?? '{"Resources":{}}') as CfnTemplate,
      functions: (resources.StackResources ?? [])
        .filter((r) => r.ResourceType === 'AWS::Lambda::Function' && r.PhysicalResourceId)
        .map((r) => r.PhysicalResourceId as string),
    };
  } catch (error) {
    if (/does not exist/.test((error as Error).message)) return undefined;
    throw error;
  }
}

export async function checkConcurrency(
  clients: PreflightClients,
  templates: readonly CfnTemplate[],
  deployed: readonly DeployedStack[],
): Promise<Finding> {
  const check = 'Lambda concurrency';
  const wanted = reservedConcurrency(templates);
  const settings = await clients.lambda.send(new GetAccountSettingsCommand({}));
  const limit = settings.AccountLimit?.ConcurrentExecutions ?? 0;
  const unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions ?? 0;
  // What these stacks already reserve comes back to the pool when the deploy changes it.
  let ours = 0;
  for (const fn of deployed.flatMap((d) => d.functions)) {
    const current = await clients.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: fn }));
    ours += current.ReservedConcurrentExecutions ?? 0;
  }
  const available = Math.max(0, unreserved + ours - UNRESERVED_MINIMUM);
  if (wanted <= available) {
    return {
      level: 'ok',
      check,
      message: `reserves ${wanted} of ${limit} (${available} can be reserved: Lambda keeps ${UNRESERVED_MINIMUM} unreserved)`,
    };
  }
  return {
    level: 'fail',
    check,
    message:
      `analytics.reservedConcurrency: the stage reserves ${wanted} concurrent executions, the account can reserve ${available} ` +
      `(quota ${limit}, ${unreserved} unreserved, Lambda keeps ${UNRESERVED_MINIMUM}): lower analytics.reservedConcurrency, ` +
      'set it to null, or ask for more "Concurrent executions" (Service Quotas, L-B99A9384)',
  };
}

export async function checkKafkaVersion(clients: PreflightClients, config: StageConfig): Promise<Finding> {
  const check = 'MSK Kafka version';
  if (config.kafka.mode === 'serverless')
    return { level: 'ok', check, message: 'MSK Serverless: AWS picks the version' };
  const versions: { version: string; status: string }[] = [];
  let token: string | undefined;
  do {
    const page = await clients.kafka.send(new ListKafkaVersionsCommand({ NextToken: token }));
    for (const v of page.KafkaVersions ?? [])
      versions.push({ version: v.Version ?? '', status: v.Status ?? '' });
    token = page.NextToken;
  } while (token);
  const found = versions.find((v) => v.version === config.kafka.kafkaVersion);
  if (found === undefined) {
    const active = versions.filter((v) => v.status === 'ACTIVE').map((v) => v.version);
    return {
      level: 'fail',
      check,
      message: `kafka.kafkaVersion ${config.kafka.kafkaVersion} is not offered here; active versions: ${active.join(', ')}`,
    };
  }
  if (found.status !== 'ACTIVE') {
    return { level: 'warn', check, message: `kafka.kafkaVersion ${found.version} is ${found.status}` };
  }
  return { level: 'ok', check, message: `${found.version} is active` };
}

/** The zones the VPC uses: the first `maxAzs` of the region (Fn::GetAZs, in name order). */
async function vpcZones(clients: PreflightClients, maxAzs: number): Promise<string[]> {
  const answer = await clients.ec2.send(
    new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'zone-type', Values: ['availability-zone'] }] }),
  );
  return (answer.AvailabilityZones ?? [])
    .filter((z) => z.State === 'available' && z.ZoneName)
    .map((z) => z.ZoneName as string)
    .sort()
    .slice(0, maxAzs);
}

export async function checkBrokerType(clients: PreflightClients, config: StageConfig): Promise<Finding> {
  const check = 'MSK broker type';
  if (config.kafka.mode === 'serverless')
    return { level: 'ok', check, message: 'MSK Serverless: no brokers to choose' };
  const type = config.kafka.brokerInstanceType;
  const zones = await vpcZones(clients, config.network.maxAzs);
  const offered = await clients.ec2.send(
    new DescribeInstanceTypeOfferingsCommand({
      LocationType: 'availability-zone',
      Filters: [{ Name: 'instance-type', Values: [type.replace(/^kafka\./, '')] }],
    }),
  );
  const where = new Set((offered.InstanceTypeOfferings ?? []).map((o) => o.Location));
  const missing = zones.filter((z) => !where.has(z));
  if (zones.length < config.network.maxAzs) {
    return {
      level: 'fail',
      check,
      message: `network.maxAzs ${config.network.maxAzs}: the region has ${zones.length} zones`,
    };
  }
  if (missing.length > 0) {
    return {
      level: 'fail',
      check,
      message: `kafka.brokerInstanceType ${type} is not offered in ${missing.join(', ')}, which the VPC uses (${zones.join(', ')})`,
    };
  }
  return { level: 'ok', check, message: `${type} is offered in ${zones.join(', ')}` };
}

export async function checkCache(clients: PreflightClients, config: StageConfig): Promise<Finding[]> {
  const { cache } = config;
  if (cache.mode === 'serverless') {
    return [{ level: 'ok', check: 'ElastiCache', message: 'ElastiCache Serverless for Valkey 8' }];
  }
  const findings: Finding[] = [];
  const versions = await clients.elasticache.send(
    new DescribeCacheEngineVersionsCommand({ Engine: 'valkey' }),
  );
  const offered = (versions.CacheEngineVersions ?? []).map((v) => v.EngineVersion ?? '');
  const matches = offered.some((v) => v === cache.engineVersion || v.startsWith(`${cache.engineVersion}.`));
  findings.push(
    matches
      ? { level: 'ok', check: 'Valkey version', message: `${cache.engineVersion} is offered` }
      : {
          level: 'fail',
          check: 'Valkey version',
          message: `cache.engineVersion ${cache.engineVersion} is not offered here (durability ${cache.durability} needs 9.0 or later); offered: ${offered.join(', ')}`,
        },
  );
  const nodes = await clients.elasticache.send(
    new DescribeReservedCacheNodesOfferingsCommand({ CacheNodeType: cache.nodeType, MaxRecords: 20 }),
  );
  findings.push(
    (nodes.ReservedCacheNodesOfferings ?? []).length > 0
      ? { level: 'ok', check: 'Cache node type', message: `${cache.nodeType} is offered` }
      : {
          level: 'fail',
          check: 'Cache node type',
          message: `cache.nodeType ${cache.nodeType} is not offered here`,
        },
  );
  return findings;
}

export async function checkBootstrap(
  clients: PreflightClients,
  templates: readonly CfnTemplate[],
  target: string,
): Promise<Finding> {
  const check = 'CDK bootstrap';
  const required = requiredBootstrapVersion(templates);
  let version: number;
  try {
    const answer = await clients.ssm.send(new GetParameterCommand({ Name: BOOTSTRAP_VERSION_PARAMETER }));
    version = Number(answer.Parameter?.Value);
  } catch (error) {
    if ((error as Error).name !== 'ParameterNotFound') throw error;
    return { level: 'fail', check, message: `not bootstrapped: run npx cdk bootstrap ${target}` };
  }
  if (!(version >= required)) {
    return {
      level: 'fail',
      check,
      message: `bootstrap version ${version}, the templates need ${required} or later: run npx cdk bootstrap ${target}`,
    };
  }
  return { level: 'ok', check, message: `version ${version} (${required} or later needed)` };
}

/**
 * What CloudFormation or Kafka would refuse on a stage that is already deployed: a logical id that
 * changes type, a topic with another replication factor or fewer partitions.
 */
export function checkChanges(
  stackName: string,
  deployed: DeployedStack | undefined,
  template: CfnTemplate,
): Finding[] {
  if (deployed === undefined) return [];
  const findings: Finding[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    const before = deployed.template.Resources?.[id];
    if (before !== undefined && before.Type !== resource.Type) {
      findings.push({
        level: 'fail',
        check: 'Resource types',
        message: `${stackName}/${id} would change from ${before.Type} to ${resource.Type}, which CloudFormation refuses`,
      });
    }
  }
  const old = topicsOf(deployed.template);
  for (const topic of topicsOf(template).values()) {
    const was = old.get(topic.name);
    if (was === undefined) continue;
    if (was.replicationFactor !== topic.replicationFactor) {
      findings.push({
        level: 'fail',
        check: 'Topics',
        message:
          `topic ${topic.name}: replication factor ${was.replicationFactor} → ${topic.replicationFactor} would replace the topic, ` +
          'which its fixed name forbids (and would drop its records): reassign its partitions instead (README, "Deploying for real")',
      });
    }
    if (topic.partitions < was.partitions) {
      findings.push({
        level: 'fail',
        check: 'Topics',
        message: `topic ${topic.name}: Kafka cannot lower partitions from ${was.partitions} to ${topic.partitions}`,
      });
    }
  }
  return findings;
}
