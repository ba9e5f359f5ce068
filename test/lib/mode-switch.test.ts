import { describe, expect, it } from 'vitest';
import type { SurgeStacks } from '../../lib/surge-app';
import { type SynthesizedStage, synthStage } from '../support/synth';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

const STACKS: readonly (keyof SurgeStacks)[] = ['network', 'streaming', 'cache', 'processing', 'api'];

function resources(stage: SynthesizedStage, stack: keyof SurgeStacks): Resources {
  return stage.template(stack).toJSON().Resources as Resources;
}

/** Export name → value, of every stack of the stage. */
function exportsOf(stage: SynthesizedStage): Map<string, string> {
  const found = new Map<string, string>();
  for (const stack of STACKS) {
    const outputs = (stage.template(stack).toJSON().Outputs ?? {}) as Record<
      string,
      { Value: unknown; Export?: { Name: string } }
    >;
    for (const output of Object.values(outputs)) {
      if (output.Export !== undefined) found.set(output.Export.Name, JSON.stringify(output.Value));
    }
  }
  return found;
}

/** Every export another stack imports, by name. */
function importsOf(stage: SynthesizedStage): Set<string> {
  const names = new Set<string>();
  for (const stack of STACKS) {
    for (const match of JSON.stringify(stage.template(stack).toJSON()).matchAll(
      /"Fn::ImportValue":"([^"]+)"/g,
    )) {
      names.add(match[1] as string);
    }
  }
  return names;
}

const switches: readonly [string, Record<string, unknown>, Record<string, unknown>][] = [
  ['kafka.mode', { kafka: { mode: 'provisioned' } }, { kafka: { mode: 'serverless' } }],
  ['cache.mode', { cache: { mode: 'provisioned' } }, { cache: { mode: 'serverless', durability: 'off' } }],
  ['both modes', {}, { kafka: { mode: 'serverless' }, cache: { mode: 'serverless', durability: 'off' } }],
  ['network.maxAzs', { network: { maxAzs: 2 } }, { network: { maxAzs: 3 } }],
];

describe.each(switches)('switching %s on a deployed stage', (_name, before, after) => {
  const from = synthStage('dev', before);
  const to = synthStage('dev', after);

  it('changes the type of no logical id (CloudFormation refuses that)', () => {
    for (const stack of STACKS) {
      const old = resources(from, stack);
      for (const [id, resource] of Object.entries(resources(to, stack))) {
        if (old[id] !== undefined)
          expect(`${stack}/${id}: ${resource.Type}`).toBe(`${stack}/${id}: ${old[id].Type}`);
      }
    }
  });

  it('leaves every export that another stack imports in place, with its value (an export in use cannot change)', () => {
    const oldExports = exportsOf(from);
    const newExports = exportsOf(to);
    for (const name of importsOf(from)) {
      expect(newExports.get(name), name).toBe(oldExports.get(name));
    }
  });

  it('renames every named resource that is replaced, so that CloudFormation can create the new one first', () => {
    const named: Record<string, string> = {
      'AWS::MSK::Cluster': 'ClusterName',
      'AWS::MSK::ServerlessCluster': 'ClusterName',
      'AWS::ElastiCache::ServerlessCache': 'ServerlessCacheName',
    };
    const oldNames = new Set<string>();
    for (const stack of STACKS) {
      for (const r of Object.values(resources(from, stack))) {
        const field = named[r.Type];
        if (field !== undefined) oldNames.add(`${r.Type} ${JSON.stringify(r.Properties?.[field])}`);
      }
    }
    for (const stack of STACKS) {
      for (const [id, r] of Object.entries(resources(to, stack))) {
        const field = named[r.Type];
        if (field === undefined) continue;
        const before = resources(from, stack)[id];
        const replaced =
          before === undefined || JSON.stringify(before.Properties) !== JSON.stringify(r.Properties);
        if (replaced)
          expect(oldNames.has(`${r.Type} ${JSON.stringify(r.Properties?.[field])}`), id).toBe(false);
      }
    }
  });
});

describe('values that change when the cluster or the cache is replaced', () => {
  const dev = synthStage('dev');

  it('reach the functions through SSM parameters read at deploy time, never through exports', () => {
    const imported = [...importsOf(dev)];
    expect(imported.some((name) => name.includes('Streaming'))).toBe(false);
    // The cache stack exports only its secrets' ARNs, which never change.
    for (const name of imported.filter((n) => n.startsWith('Surge-dev-Cache:')))
      expect(name).toMatch(/Password/);
    const parameters = Object.values({
      ...resources(dev, 'streaming'),
      ...resources(dev, 'cache'),
    }).filter((r) => r.Type === 'AWS::SSM::Parameter');
    expect(parameters.length).toBeGreaterThanOrEqual(3);
    const lookups = Object.values(resources(dev, 'processing')).filter(
      (r) => r.Type === 'Custom::AWS' && String(r.Properties?.Create).includes('"action":"getParameter"'),
    );
    expect(lookups.length).toBeGreaterThanOrEqual(3);
  });

  it('name a new parameter when the cluster is replaced, so that the readers read again', () => {
    const names = (stage: SynthesizedStage) =>
      Object.values(resources(stage, 'streaming'))
        .filter((r) => r.Type === 'AWS::SSM::Parameter')
        .map((r) => r.Properties?.Name);
    const moved = synthStage('dev', { network: { maxAzs: 3 } });
    expect(names(moved)).not.toEqual(names(dev));
    // The readers' lookups name the new parameter too.
    const lookupText = (stage: SynthesizedStage) => JSON.stringify(resources(stage, 'processing'));
    for (const name of names(moved)) expect(lookupText(moved)).toContain(String(name));
  });

  it('deploy after the stacks that write them', () => {
    const dependencies = dev.stacks.processing.dependencies.map((s) => s.stackName);
    expect(dependencies).toEqual(expect.arrayContaining(['Surge-dev-Streaming', 'Surge-dev-Cache']));
    expect(dev.stacks.api.dependencies.map((s) => s.stackName)).toContain('Surge-dev-Cache');
  });
});
