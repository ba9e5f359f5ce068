import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('runs the testbed under node:test too (examples/node-test.example.ts), and closes everything it started', () => {
  const root = join(import.meta.dirname, '../..');
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', 'examples/node-test.example.ts'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.status, run.stdout + run.stderr).toBe(0);
  expect(run.stdout).toMatch(/# pass 1\b/);
  expect(run.stdout).toMatch(/# fail 0\b/);
});
