import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MSKEvent } from 'aws-lambda';
import { build } from 'esbuild';
import {
  ESM_REQUIRE_BANNER,
  type FunctionNodeFlags,
  IAM_SIGNER_MODULE,
  PROJECT_ROOT,
  RUNTIME_PROVIDED_MODULES,
} from '../lib/constructs/surge-function';
import { provideRuntimeSdkClients } from '../local/lambda-sdk';

/** The runs on one Node.js binary. */
export interface ColdRuns {
  readonly node: string;
  /** Import of the bundle plus the first invocation (connections included), per run. */
  readonly coldMs: number[];
  readonly importMs: number[];
}

export interface ColdStart {
  readonly bundleBytes: number;
  /** In the order of `nodes`. */
  readonly runs: ColdRuns[];
}

/**
 * Bundles the analytics handler as the CDK app does (minified, with its source map), then, in a
 * fresh Node.js process per event with the function's NODE_OPTIONS and launch flags, times the
 * bundle's import and its first invocation: what a Lambda cold start adds to a batch. Event i runs on
 * `nodes[i % nodes.length]`, so the binaries take turns under the same machine conditions; each
 * run gets its own event, so that none is skipped as a redelivery of an earlier run's.
 */
export async function measureColdStart(
  events: readonly MSKEvent[],
  env: Record<string, string>,
  flags: FunctionNodeFlags,
  nodes: readonly { readonly execPath: string; readonly version: string }[],
): Promise<ColdStart> {
  const dir = mkdtempSync(join(tmpdir(), 'surge-cold-'));
  try {
    await build({
      entryPoints: [join(PROJECT_ROOT, 'functions/analytics/handler.ts')],
      outfile: join(dir, 'index.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      mainFields: ['module', 'main'],
      external: [...RUNTIME_PROVIDED_MODULES, IAM_SIGNER_MODULE],
      banner: { js: ESM_REQUIRE_BANNER },
      logLevel: 'silent',
    });
    // As SurgeFunction ships it: the MSK IAM signer as a module of its own, loaded on demand.
    await build({
      stdin: {
        contents: `export { generateAuthToken } from '${IAM_SIGNER_MODULE}';`,
        resolveDir: PROJECT_ROOT,
      },
      outfile: join(dir, 'node_modules', IAM_SIGNER_MODULE, 'index.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      minify: true,
      external: RUNTIME_PROVIDED_MODULES,
      banner: { js: ESM_REQUIRE_BANNER },
      logLevel: 'silent',
    });
    writeFileSync(
      join(dir, 'node_modules', IAM_SIGNER_MODULE, 'package.json'),
      JSON.stringify({ name: IAM_SIGNER_MODULE, type: 'module', main: 'index.mjs' }),
    );
    mkdirSync(join(dir, 'schemas'));
    provideRuntimeSdkClients(dir);
    cpSync(join(PROJECT_ROOT, 'schemas'), join(dir, 'schemas'), { recursive: true });
    const script = `
      const fs = await import('node:fs');
      const event = JSON.parse(fs.readFileSync(process.env.SURGE_COLD_EVENT, 'utf8'));
      const t0 = performance.now();
      const m = await import(${JSON.stringify(join(dir, 'index.mjs'))});
      const t1 = performance.now();
      await m.handler(event, { awsRequestId: 'cold' });
      const t2 = performance.now();
      console.log(JSON.stringify({ importMs: t1 - t0, coldMs: t2 - t0 }));
      process.exit(0);`;
    const runs: ColdRuns[] = nodes.map(({ version }) => ({ node: version, coldMs: [], importMs: [] }));
    for (const [i, event] of events.entries()) {
      const eventFile = join(dir, `event-${i}.json`);
      writeFileSync(eventFile, JSON.stringify(event));
      const node = nodes[i % nodes.length] as (typeof nodes)[number];
      const run = runs[i % nodes.length] as ColdRuns;
      const result = spawnSync(node.execPath, [...flags.launchFlags, '--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: {
          ...process.env,
          ...env,
          NODE_OPTIONS: flags.nodeOptions.join(' '),
          SURGE_COLD_EVENT: eventFile,
          SURGE_SCHEMAS_DIR: join(dir, 'schemas'),
          POWERTOOLS_LOG_LEVEL: 'SILENT',
          POWERTOOLS_METRICS_DISABLED: 'true',
        },
      });
      if (result.status !== 0) throw new Error(`cold start run on ${node.version} failed: ${result.stderr}`);
      const line = JSON.parse(result.stdout.trim().split('\n').at(-1) as string);
      run.coldMs.push(line.coldMs);
      run.importMs.push(line.importMs);
    }
    return { bundleBytes: statSync(join(dir, 'index.mjs')).size, runs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
