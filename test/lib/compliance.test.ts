import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { LAUNCH_WRAPPER } from '../../lib/bundling/launch-wrapper-layer';
import { loadStageConfig, STAGES } from '../../lib/config/stage-config';
import { IAM_SIGNER_MODULE, PROJECT_ROOT } from '../../lib/constructs/surge-function';
import { provideRuntimeSdkClients } from '../../local/lambda-sdk';
import { synthStage } from '../support/synth';
import { zipEntries } from '../support/zip-entries';

const stages = STAGES.map((stage) => synthStage(stage));
const variants = [
  ...stages,
  synthStage('dev', { kafka: { mode: 'serverless' }, eventSource: { onFailure: 'sqs' } }),
  // All serverless: MSK Serverless and ElastiCache Serverless.
  synthStage('dev', { kafka: { mode: 'serverless' }, cache: { mode: 'serverless' } }),
];
const allStacks = variants.flatMap((s) => Object.values(s.stacks) as Stack[]);
const scratch: string[] = [];

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'surge-synth-'));
  scratch.push(dir);
  return dir;
}

describe('cdk-nag AwsSolutions', () => {
  it.each(allStacks.map((stack) => [stack.stackName, stack] as const))(
    '%s has no unacknowledged finding',
    (_name, stack) => {
      const report = new AwsSolutionsChecks().validateScope(stack);
      const findings = report.violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.ruleName} ${r.resourceLogicalId}: ${v.description}`),
      );
      expect(findings).toEqual([]);
    },
  );
});

describe('security invariants of every stack', () => {
  const templates = allStacks.map((stack) => Template.fromStack(stack).toJSON());
  const resources = templates.flatMap(
    (t) => Object.values(t.Resources ?? {}) as { Type: string; Properties?: any }[],
  );

  it('keeps every log group for a set time, and every function logs to one of them', () => {
    const logGroups = new Map<string, { RetentionInDays?: number }>();
    for (const template of templates) {
      for (const [id, r] of Object.entries(template.Resources ?? {}) as [
        string,
        { Type: string; Properties?: Record<string, unknown> },
      ][]) {
        if (r.Type === 'AWS::Logs::LogGroup') logGroups.set(id, r.Properties ?? {});
      }
    }
    expect(logGroups.size).toBeGreaterThan(0);
    for (const [id, group] of logGroups) expect(group.RetentionInDays, id).toBeGreaterThan(0);
    for (const template of templates) {
      for (const [id, r] of Object.entries(template.Resources ?? {}) as [
        string,
        { Type: string; Properties?: { LoggingConfig?: { LogGroup?: { Ref?: string } } } },
      ][]) {
        if (r.Type !== 'AWS::Lambda::Function') continue;
        const ref = r.Properties?.LoggingConfig?.LogGroup?.Ref;
        expect(ref, `${id} has no log group of its own (it would log to one kept forever)`).toBeDefined();
        expect(logGroups.has(ref as string), `${id} logs to ${ref}`).toBe(true);
      }
    }
  });

  it('opens no ingress to the internet', () => {
    const open = (rule: { CidrIp?: string; CidrIpv6?: string }) =>
      rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0';
    for (const r of resources) {
      if (r.Type === 'AWS::EC2::SecurityGroup')
        expect((r.Properties?.SecurityGroupIngress ?? []).filter(open)).toEqual([]);
      if (r.Type === 'AWS::EC2::SecurityGroupIngress') expect(open(r.Properties)).toBe(false);
    }
  });

  it('grants no wildcard actions, and wildcard resources only for EC2 network interfaces', () => {
    for (const r of resources.filter((x) => x.Type === 'AWS::IAM::Policy')) {
      for (const statement of r.Properties.PolicyDocument.Statement) {
        const acts: string[] = [statement.Action].flat();
        for (const action of acts) expect(action).not.toMatch(/^\*$|:\*$/);
        if (statement.Resource === '*') for (const action of acts) expect(action).toMatch(/^ec2:/);
      }
    }
  });

  it('encrypts with rotating customer keys, and keeps logs for a bounded time', () => {
    for (const r of resources) {
      if (r.Type === 'AWS::KMS::Key') expect(r.Properties.EnableKeyRotation).toBe(true);
      if (r.Type === 'AWS::Logs::LogGroup') expect(r.Properties?.RetentionInDays).toBeGreaterThan(0);
    }
  });

  it('leaves aws-cdk-lib with no warning or error of its own', () => {
    for (const stack of allStacks) {
      const annotations = Annotations.fromStack(stack);
      expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
      expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    }
  });
});

const cfnLint = spawnSync('cfn-lint', ['--version']).status === 0;
if (!cfnLint) console.warn('cfn-lint is not installed: the cfn-lint check is skipped (pip install cfn-lint)');

describe('cfn-lint', () => {
  // W3005: CDK adds an explicit DependsOn from each function to its role's policy; harmless.
  const serverless = {
    kafka: { mode: 'serverless' },
    cache: { mode: 'serverless' },
    eventSource: { onFailure: 'sqs' },
  };
  it
    .skipIf(!cfnLint)
    .each([
      ...STAGES.map((stage) => [stage, stage, {}] as const),
      ['dev with every serverless option', 'dev', serverless] as const,
    ])('finds no problem in the %s templates', (_name, stage, overrides) => {
    const outdir = tempDir();
    synthStage(stage, overrides, { outdir }).app.synth();
    const templates = readdirSync(outdir).filter((f) => f.endsWith('.template.json'));
    expect(templates).toHaveLength(5);
    const result = spawnSync(
      'cfn-lint',
      ['--ignore-checks', 'W3005', '--', ...templates.map((f) => join(outdir, f))],
      {
        encoding: 'utf8',
      },
    );
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('the CDK CLI', () => {
  it.each(STAGES)(
    'synthesizes the %s stage offline, without credentials',
    (stage) => {
      const outdir = tempDir();
      const env = {
        ...process.env,
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: '',
        CDK_DEFAULT_ACCOUNT: '',
      };
      const result = spawnSync('npx', ['cdk', 'synth', '-c', `stage=${stage}`, '-q', '-o', outdir], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        env,
        timeout: 120_000,
      });
      expect(result.status, result.stderr).toBe(0);
      expect(readdirSync(outdir).filter((f) => f.endsWith('.template.json'))).toHaveLength(5);
    },
    120_000,
  );
});

describe('the analytics bundle', () => {
  const outdir = tempDir();
  const stage = synthStage('dev', {}, { bundle: true, outdir });
  stage.app.synth();
  const template = Template.fromStack(stage.stacks.processing).toJSON();
  const fn = Object.values(template.Resources).find(
    (r: any) =>
      r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('Surge analytics'),
  ) as { Metadata: Record<string, string> };
  const assetDir = join(outdir, fn.Metadata['aws:asset:path'] as string);

  it('is a minified ES module of at most 1 MB with source maps and the Avro schemas beside it', () => {
    expect(statSync(join(assetDir, 'index.mjs')).size).toBeLessThanOrEqual(1_000_000);
    expect(existsSync(join(assetDir, 'index.mjs.map'))).toBe(true);
    for (const file of [
      'telemetry-v1.avsc',
      'telemetry-v2.avsc',
      'device-summary-v1.avsc',
      'alert-v1.avsc',
    ]) {
      expect(existsSync(join(assetDir, 'schemas', file))).toBe(true);
    }
    expect(readFileSync(join(assetDir, 'index.mjs'), 'utf8')).not.toMatch(/@aws-sdk\/client-kafka\/dist/);
  });

  it('ships the MSK IAM signer beside the handler as a module it loads on demand', () => {
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(bundle.includes(`import("${IAM_SIGNER_MODULE}")`)).toBe(true);
    // The signer's credential chain is not in the handler's bundle.
    expect(bundle.includes('fromNodeProviderChain')).toBe(false);
    provideRuntimeSdkClients(outdir);
    const script = `import(${JSON.stringify(join(assetDir, 'node_modules', IAM_SIGNER_MODULE, 'index.mjs'))})
      .then((m) => { console.log(typeof m.generateAuthToken); process.exit(0); })`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('function');
  });

  it('starts the runtime through the wrapper of its layer, with the V8 flags NODE_OPTIONS refuses', () => {
    const props = (fn as unknown as { Properties: { Environment: { Variables: Record<string, string> } } })
      .Properties;
    const variables = props.Environment.Variables;
    expect(variables.AWS_LAMBDA_EXEC_WRAPPER).toBe(`/opt/${LAUNCH_WRAPPER}`);
    const layer = Object.values(template.Resources).find(
      (r: any) => r.Type === 'AWS::Lambda::LayerVersion',
    ) as { Metadata: Record<string, string> };
    // The uploaded zip as it is: the wrapper's mode comes from the archive, not from this file system.
    const [entry] = zipEntries(readFileSync(join(outdir, layer.Metadata['aws:asset:path'] as string)));
    expect(entry?.name).toBe(LAUNCH_WRAPPER);
    expect((entry?.unixMode ?? 0) & 0o111).toBe(0o111);
    const wrapper = join(tempDir(), LAUNCH_WRAPPER);
    writeFileSync(wrapper, entry?.content ?? '');
    chmodSync(wrapper, (entry?.unixMode ?? 0) & 0o777);
    // As Lambda calls it: the interpreter's path, then the interpreter's own arguments, with the
    // function's NODE_OPTIONS (V8 caps the initial semi-space at the maximum).
    const newSpaceMb =
      "require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576";
    const result = spawnSync(wrapper, [process.execPath, '-p', newSpaceMb], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: variables.NODE_OPTIONS },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(Number(result.stdout.trim())).toBe(loadStageConfig('dev').analytics.initialSemiSpaceMb);
  });

  it('loads in plain Node.js and answers a malformed event with a clear error', () => {
    provideRuntimeSdkClients(outdir);
    const script = `import(${JSON.stringify(join(assetDir, 'index.mjs'))}).then(m => m.handler({})).then(
      () => { console.log('resolved'); process.exit(1); },
      (e) => { console.log(e.name + ': ' + e.message); process.exit(0); })`;
    const result = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: {
        ...process.env,
        SURGE_SCHEMAS_DIR: join(assetDir, 'schemas'),
        REDIS_URL: 'redis://127.0.0.1:1',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('InvalidEventError: not an MSK event');
  });
});
