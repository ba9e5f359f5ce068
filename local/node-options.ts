import { spawn } from 'node:child_process';
import { loadStageConfig } from '../lib/config/stage-config';
import { type FunctionNodeFlags, functionNodeFlags } from '../lib/constructs/surge-function';

/**
 * The Node.js flags the analytics function is deployed with (see SurgeFunction), so that
 * whatever runs its handler here measures and behaves like the deployed function.
 */
export function analyticsNodeFlags(stage = 'dev'): FunctionNodeFlags {
  const { semiSpaceMb, initialSemiSpaceMb, sourceMaps } = loadStageConfig(stage).analytics;
  return functionNodeFlags({ semiSpaceMb, initialSemiSpaceMb, sourceMaps });
}

/**
 * Heap flags only take effect at process start. When this process lacks some of `flags`, runs the
 * same command again with them (NODE_OPTIONS flags in NODE_OPTIONS, launch flags on the command
 * line, as the function's launch wrapper gives them), forwards signals, and exits as that process
 * does: resolves false in the relaunched process, which carries on; never resolves in the first one.
 */
export function relaunchWithNodeFlags(flags: FunctionNodeFlags): Promise<boolean> {
  const current = `${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`;
  const missingOptions = flags.nodeOptions.filter((flag) => !current.includes(flag));
  const missingLaunch = flags.launchFlags.filter((flag) => !current.includes(flag));
  const missing = [...missingOptions, ...missingLaunch];
  if (missing.length === 0) return Promise.resolve(false);
  const child = spawn(process.execPath, [...missingLaunch, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: {
      ...process.env,
      // What the caller had, for children that should run as they would have without the relaunch.
      SURGE_OUTER_NODE_OPTIONS: process.env.NODE_OPTIONS ?? '',
      NODE_OPTIONS: [process.env.NODE_OPTIONS, ...missingOptions].filter(Boolean).join(' '),
    },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  return new Promise(() => {
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    child.on('error', (error) => {
      process.stderr.write(`cannot relaunch with ${missing.join(' ')}: ${error.message}\n`);
      process.exit(1);
    });
  });
}
