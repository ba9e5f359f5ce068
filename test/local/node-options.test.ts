import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { analyticsNodeFlags } from '../../local/node-options';

const fixture = 'test/support/relaunch-fixture.ts';

describe('relaunchWithNodeFlags', () => {
  it('runs the command again once, NODE_OPTIONS flags in NODE_OPTIONS and launch flags on its command line, and exits as it does', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', fixture], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '--no-warnings' },
    });
    expect(result.status).toBe(3);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toEqual({
      nodeOptions: '--no-warnings --max-semi-space-size=8',
      outer: '--no-warnings',
      execArgv: ['--min-semi-space-size=4'],
    });
  });

  it('does not relaunch a process that has the flags already', () => {
    const flags = ['--max-semi-space-size=8', '--min-semi-space-size=4'];
    const result = spawnSync(process.execPath, [...flags, '--import', 'tsx', fixture], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(result.status).toBe(3);
    const report = JSON.parse(result.stdout.trim());
    expect(report.nodeOptions).toBe('');
    expect(report.outer).toBeUndefined();
  });
});

describe('analyticsNodeFlags', () => {
  it('are the flags the stage deploys the analytics function with', () => {
    expect(analyticsNodeFlags('dev')).toEqual({
      nodeOptions: ['--max-semi-space-size=128'],
      launchFlags: ['--min-semi-space-size=64'],
    });
  });
});
