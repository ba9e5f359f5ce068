import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type Environment } from 'aws-cdk-lib';
import type { StageConfig } from '../../lib/config/stage-config';
import { addSurgeStacks } from '../../lib/surge-app';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Rules?: Record<string, { Assertions?: { Assert?: unknown }[] }>;
}

/** The stage's templates by stack name, as `cdk deploy` would send them (functions not bundled). */
export function synthesizeTemplates(config: StageConfig, env?: Environment): Map<string, CfnTemplate> {
  const outdir = mkdtempSync(join(tmpdir(), 'surge-preflight-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stacks = addSurgeStacks(app, config, env);
    const assembly = app.synth();
    return new Map(
      Object.values(stacks).map((stack) => [
        stack.stackName,
        assembly.getStackByName(stack.stackName).template as CfnTemplate,
      ]),
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * The oldest CDK bootstrap version the templates accept: the synthesizer's CheckBootstrapVersion
 * rule lists the versions it refuses.
 */
export function requiredBootstrapVersion(templates: Iterable<CfnTemplate>): number {
  let required = 0;
  for (const template of templates) {
    const rule = JSON.stringify(template.Rules?.CheckBootstrapVersion ?? {});
    const refused = rule.match(/"Fn::Contains":\[\[([^\]]*)\]/);
    if (refused?.[1] === undefined) continue;
    const versions = refused[1].split(',').map((v) => Number(JSON.parse(v)));
    required = Math.max(required, Math.max(...versions) + 1);
  }
  return required;
}

/** Reserved concurrency of every function of the templates. */
export function reservedConcurrency(templates: Iterable<CfnTemplate>): number {
  let total = 0;
  for (const template of templates) {
    for (const resource of Object.values(template.Resources)) {
      const reserved = resource.Properties?.ReservedConcurrentExecutions;
      if (resource.Type === 'AWS::Lambda::Function' && typeof reserved === 'number') total += reserved;
    }
  }
  return total;
}

export interface TopicShape {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

/** The topics a template declares: AWS::MSK::Topic resources, or the topic custom resource's list. */
export function topicsOf(template: CfnTemplate): Map<string, TopicShape> {
  const topics = new Map<string, TopicShape>();
  for (const resource of Object.values(template.Resources)) {
    const p = resource.Properties ?? {};
    if (resource.Type === 'AWS::MSK::Topic') {
      const name = String(p.TopicName);
      topics.set(name, {
        name,
        partitions: Number(p.PartitionCount),
        replicationFactor: Number(p.ReplicationFactor),
      });
    }
    if (resource.Type === 'Custom::SurgeKafkaTopics' && Array.isArray(p.Topics)) {
      for (const t of p.Topics as Record<string, unknown>[]) {
        const name = String(t.name);
        topics.set(name, {
          name,
          partitions: Number(t.partitions),
          replicationFactor: Number(t.replicationFactor),
        });
      }
    }
  }
  return topics;
}

/** Resources by type, across the templates. */
export function resourceCounts(templates: Iterable<CfnTemplate>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const template of templates) {
    for (const resource of Object.values(template.Resources)) {
      counts.set(resource.Type, (counts.get(resource.Type) ?? 0) + 1);
    }
  }
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b)));
}
