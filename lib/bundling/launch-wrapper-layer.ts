import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { zipSync } from 'fflate';

/** Where a layer's files are in the function's file system. */
export const LAYER_ROOT = '/opt';

/** The launch wrapper's file in its layer; Lambda runs it with the runtime's command line. */
export const LAUNCH_WRAPPER = 'surge-launch';

/** Zip's "made by" system for Unix: the external attributes then carry a Unix mode. */
const ZIP_OS_UNIX = 3;
/** A regular file, rwxr-xr-x. */
const EXECUTABLE_FILE_MODE = 0o100755;
/** Fixed, so that the same wrapper makes the same zip and the same asset hash. */
const ZIP_MTIME = new Date('2020-01-01T00:00:00Z');

/**
 * The lines of the launch wrapper: Lambda calls it with the interpreter's path and its arguments
 * (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-modify.html#runtime-wrapper), and it
 * starts the interpreter with `launchFlags` first.
 */
export function launchWrapperLines(launchFlags: readonly string[]): string[] {
  for (const flag of launchFlags) {
    if (!/^--[a-z0-9-]+=[0-9]+$/.test(flag))
      throw new Error(`launch flag ${JSON.stringify(flag)} is not --name=number`);
  }
  return [
    '#!/bin/sh',
    '# Lambda starts the Node.js runtime through this script (AWS_LAMBDA_EXEC_WRAPPER), to pass V8 flags NODE_OPTIONS refuses.',
    'node="$1"',
    'shift',
    `exec "$node" ${launchFlags.join(' ')} "$@"`,
  ];
}

/**
 * The layer archive: the wrapper with its execute bit written into the zip itself. A directory
 * asset is zipped by the CDK CLI with the modes the file system reports, and a file system without
 * Unix modes (Windows) reports none: the wrapper would lose its execute bit and every invocation
 * would fail. A ready zip is uploaded as it is.
 */
export function launchWrapperArchive(launchFlags: readonly string[]): Uint8Array {
  const script = new TextEncoder().encode(`${launchWrapperLines(launchFlags).join('\n')}\n`);
  return zipSync(
    {
      [LAUNCH_WRAPPER]: [
        script,
        { os: ZIP_OS_UNIX, attrs: (EXECUTABLE_FILE_MODE << 16) >>> 0, mtime: ZIP_MTIME, level: 9 },
      ],
    },
    { mtime: ZIP_MTIME },
  );
}

/**
 * The layer that holds the launch wrapper for `launchFlags`: one per stack and set of flags,
 * shared by the functions that start with the same flags.
 */
export function launchWrapperLayer(scope: Construct, launchFlags: readonly string[]): lambda.ILayerVersion {
  const archive = launchWrapperArchive(launchFlags);
  const hash = createHash('sha256').update(archive).digest('hex').slice(0, 12);
  const stack = Stack.of(scope);
  const id = `LaunchWrapper${hash}`;
  const existing = stack.node.tryFindChild(id) as lambda.ILayerVersion | undefined;
  if (existing !== undefined) return existing;
  const dir = join(tmpdir(), 'surge-launch-wrappers');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${hash}.zip`);
  writeFileSync(file, archive);
  return new lambda.LayerVersion(stack, id, {
    code: lambda.Code.fromAsset(file),
    compatibleRuntimes: [lambda.Runtime.NODEJS_22_X],
    compatibleArchitectures: [lambda.Architecture.ARM_64],
    description: `Surge launch wrapper: node ${launchFlags.join(' ')}`,
  });
}
