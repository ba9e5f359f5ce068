import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  LAUNCH_WRAPPER,
  launchWrapperArchive,
  launchWrapperLayer,
  launchWrapperLines,
} from '../../../lib/bundling/launch-wrapper-layer';
import { zipEntries } from '../../support/zip-entries';

describe('launchWrapperLines', () => {
  it('runs the interpreter it is given with the flags before its own arguments', () => {
    expect(launchWrapperLines(['--min-semi-space-size=64']).at(-1)).toBe(
      'exec "$node" --min-semi-space-size=64 "$@"',
    );
  });

  it('refuses a flag that is not --name=number', () => {
    expect(() => launchWrapperLines(["--x='; rm -rf /'"])).toThrow(/launch flag .* is not --name=number/);
  });
});

describe('launchWrapperArchive', () => {
  it('carries the execute bit in the zip itself, whatever file system it was built on', () => {
    const [entry, ...rest] = zipEntries(Buffer.from(launchWrapperArchive(['--min-semi-space-size=8'])));
    expect(rest).toEqual([]);
    expect(entry?.name).toBe(LAUNCH_WRAPPER);
    expect(entry?.unixMode).toBe(0o100755);
    expect(entry?.content.toString()).toBe(`${launchWrapperLines(['--min-semi-space-size=8']).join('\n')}\n`);
  });

  it('is the same bytes for the same flags, so that the asset hash does not change between syntheses', () => {
    expect(launchWrapperArchive(['--min-semi-space-size=8'])).toEqual(
      launchWrapperArchive(['--min-semi-space-size=8']),
    );
    expect(launchWrapperArchive(['--min-semi-space-size=8'])).not.toEqual(
      launchWrapperArchive(['--min-semi-space-size=16']),
    );
  });

  it('starts node with its flags when unpacked with the mode it carries, as Lambda unpacks a layer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'surge-layer-'));
    try {
      const [entry] = zipEntries(Buffer.from(launchWrapperArchive(['--min-semi-space-size=16'])));
      const path = join(dir, entry?.name ?? 'missing');
      writeFileSync(path, entry?.content ?? '');
      chmodSync(path, (entry?.unixMode ?? 0) & 0o777);
      const newSpaceMb =
        "require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576";
      const result = spawnSync(path, [process.execPath, '--max-semi-space-size=16', '-p', newSpaceMb], {
        encoding: 'utf8',
      });
      expect(result.status, result.stderr).toBe(0);
      expect(Number(result.stdout.trim())).toBe(16);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('launchWrapperLayer', () => {
  it('makes one layer per stack and set of flags, for arm64 Node.js 22', () => {
    const stack = new Stack(new App(), 'Layers');
    const a = launchWrapperLayer(stack, ['--min-semi-space-size=8']);
    expect(launchWrapperLayer(stack, ['--min-semi-space-size=8'])).toBe(a);
    expect(launchWrapperLayer(stack, ['--min-semi-space-size=16'])).not.toBe(a);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 2);
    template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleRuntimes: ['nodejs22.x'],
      CompatibleArchitectures: ['arm64'],
    });
  });
});
