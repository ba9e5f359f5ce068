import type { StageConfig } from '../../lib/config/stage-config';
import {
  checkBootstrap,
  checkBrokerType,
  checkCache,
  checkChanges,
  checkConcurrency,
  checkKafkaVersion,
  deployedStack,
  type Finding,
  type PreflightClients,
} from './checks';
import { type CostLine, monthlyBaseCost } from './cost';
import { type CfnTemplate, resourceCounts } from './templates';

export interface PreflightReport {
  /** `aws://account/region`, as `cdk bootstrap` takes it. */
  readonly target: string;
  readonly stage: string;
  readonly findings: readonly Finding[];
  /** Resources of the stage by type; `deployed` counts those that exist already. */
  readonly resources: ReadonlyMap<string, { readonly total: number; readonly deployed: number }>;
  readonly cost: readonly CostLine[];
}

export interface PreflightInput {
  readonly config: StageConfig;
  readonly templates: ReadonlyMap<string, CfnTemplate>;
  readonly clients: PreflightClients;
  readonly account: string;
  readonly region: string;
}

/**
 * What synthesis cannot know, asked of the account with read-only calls: whether the deploy would
 * fail (concurrency quota, versions and types offered in the region, the bootstrap, changes
 * CloudFormation or Kafka refuse on a deployed stage), what it creates, and roughly what it costs.
 */
export async function runPreflight(input: PreflightInput): Promise<PreflightReport> {
  const { config, clients } = input;
  const target = `aws://${input.account}/${input.region}`;
  const names = [...input.templates.keys()];
  const templates = [...input.templates.values()];
  const deployed = await Promise.all(names.map((name) => deployedStack(clients, name)));
  const findings: Finding[] = [
    await checkBootstrap(clients, templates, target),
    await checkConcurrency(
      clients,
      templates,
      deployed.filter((d) => d !== undefined),
    ),
    await checkKafkaVersion(clients, config),
    await checkBrokerType(clients, config),
    ...(await checkCache(clients, config)),
    ...names.flatMap((name, i) => checkChanges(name, deployed[i], input.templates.get(name) as CfnTemplate)),
  ];
  const total = resourceCounts(templates);
  const existing = resourceCounts(deployed.filter((d) => d !== undefined).map((d) => d.template));
  const resources = new Map(
    [...total].map(([type, count]) => [type, { total: count, deployed: existing.get(type) ?? 0 }]),
  );
  return { target, stage: config.stage, findings, resources, cost: monthlyBaseCost(config, templates) };
}

export function failed(report: PreflightReport): boolean {
  return report.findings.some((f) => f.level === 'fail');
}

const MARK = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;

export function formatReport(report: PreflightReport): string {
  const lines = [`Surge preflight: stage ${report.stage} into ${report.target}`, ''];
  for (const f of report.findings) lines.push(`  ${MARK[f.level]}  ${f.check}: ${f.message}`);
  lines.push('', 'What the deploy creates (resources of the stage, of which already deployed):');
  for (const [type, { total, deployed }] of report.resources) {
    lines.push(`  ${String(total).padStart(4)}  ${type}${deployed > 0 ? ` (${deployed} deployed)` : ''}`);
  }
  lines.push('', 'Roughly what it costs before traffic (US East list prices, USD per month):');
  let sum = 0;
  for (const line of report.cost) {
    if (line.monthlyUsd !== undefined) sum += line.monthlyUsd;
    const price = (line.monthlyUsd === undefined ? '—' : line.monthlyUsd.toFixed(2)).padStart(9);
    lines.push(`  ${price}  ${line.item}`);
  }
  lines.push(`  ${sum.toFixed(2).padStart(9)}  in all, plus usage`);
  lines.push(
    '',
    failed(report)
      ? 'The deploy would fail or misbehave: fix what is marked FAIL (README, "Deploying for real").'
      : 'Nothing found that would stop the deploy: npx cdk deploy --all -c stage=' + report.stage,
  );
  return lines.join('\n');
}
