import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadStageConfig } from '../lib/config/stage-config';
import { addSurgeStacks } from '../lib/surge-app';

/**
 *   npx cdk synth -c stage=dev|prod|local [-c overrides='{"eventSource":{"batchSize":500}}']
 */
const app = new App();
const overrides = app.node.tryGetContext('overrides');
const config = loadStageConfig(
  app.node.tryGetContext('stage') ?? 'dev',
  typeof overrides === 'string' ? JSON.parse(overrides) : (overrides ?? {}),
);
// Environment-agnostic unless the CLI knows the target; nothing is looked up either way.
const env =
  process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
    ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
    : undefined;
addSurgeStacks(app, config, env);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
