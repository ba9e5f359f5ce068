import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const APPLY = resolve(import.meta.dirname, '../../patches/apply.mjs');
const PATCH = resolve(import.meta.dirname, '../../patches/kafkajs+2.2.4.patch');
const scratch = mkdtempSync(join(tmpdir(), 'surge-patches-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('patches/apply.mjs (npm postinstall)', () => {
  it('leaves alone a project that installs Surge as a dependency', () => {
    const asDependency = join(scratch, 'app', 'node_modules', 'surge');
    mkdirSync(asDependency, { recursive: true });
    const run = spawnSync(process.execPath, [APPLY], { cwd: asDependency, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout + run.stderr).toBe('');
  });

  it('fails the install of this repository when a patch does not apply', () => {
    // Surge's patch against a kafkajs 2.2.4 whose file is not the one the patch was made from.
    const project = join(scratch, 'project');
    const kafkajs = join(project, 'node_modules', 'kafkajs');
    mkdirSync(join(project, 'patches'), { recursive: true });
    mkdirSync(join(kafkajs, 'src', 'producer'), { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'project', version: '1.0.0' }));
    writeFileSync(join(kafkajs, 'package.json'), JSON.stringify({ name: 'kafkajs', version: '2.2.4' }));
    writeFileSync(
      join(kafkajs, 'src', 'producer', 'groupMessagesPerPartition.js'),
      'module.exports = () => ({})\n',
    );
    copyFileSync(PATCH, join(project, 'patches', 'kafkajs+2.2.4.patch'));
    const bin = resolve(import.meta.dirname, '../../node_modules/.bin');
    const run = spawnSync(process.execPath, [APPLY], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    expect(run.status).toBe(1);
    expect(run.stdout + run.stderr).toContain('Failed to apply patch for package kafkajs');
  });
});
