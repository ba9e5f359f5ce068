import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadStageConfig, type StageConfig } from '../../lib/config/stage-config';
import { addSurgeStacks, type SurgeStacks } from '../../lib/surge-app';

export interface SynthesizedStage {
  readonly app: App;
  readonly config: StageConfig;
  readonly stacks: SurgeStacks;
  readonly template: (stack: keyof SurgeStacks) => Template;
}

/**
 * The stacks of a stage as `cdk synth` builds them. Bundling is skipped unless asked for: esbuild
 * output is checked by its own test, the rest only needs the templates.
 */
export function synthStage(
  stage: string,
  overrides: Record<string, unknown> = {},
  options: { bundle?: boolean; outdir?: string } = {},
): SynthesizedStage {
  const app = new App({
    outdir: options.outdir,
    context: {
      '@aws-cdk/core:defaultCrossStackReferences': 'strong',
      ...(options.bundle ? { 'aws:cdk:enable-asset-metadata': true } : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const config = loadStageConfig(stage, overrides);
  const stacks = addSurgeStacks(app, config, { account: '123456789012', region: 'eu-west-1' });
  const templates = new Map<keyof SurgeStacks, Template>();
  return {
    app,
    config,
    stacks,
    template: (name) => {
      let template = templates.get(name);
      if (template === undefined) {
        template = Template.fromStack(stacks[name]);
        templates.set(name, template);
      }
      return template;
    },
  };
}
