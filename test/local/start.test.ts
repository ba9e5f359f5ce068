import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/surge-function';

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** From the signal to the exit, when it was signalled. */
  readonly stoppedInMs?: number;
}

/** Runs `npm start -- args` in a child process, as a user would. */
/** Runs `npm start -- args`; `interrupt` decides when to signal it, as a terminal would. */
function start(
  args: string[],
  interrupt?: (stderr: string) => boolean,
  signal: NodeJS.Signals = 'SIGINT',
): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: '', REDIS_URL: '' };
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
      cwd: PROJECT_ROOT,
      env,
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    let signalledAt: number | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!interrupted && interrupt?.(stderr)) {
        interrupted = true;
        signalledAt = Date.now();
        // The servers it starts run in their own process groups, so a terminal's Ctrl-C (or hang-up)
        // reaches the runtime alone: the same as signalling it directly.
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({
        code: code ?? signalCode(child.signalCode) ?? null,
        stdout,
        stderr,
        ...(signalledAt === undefined ? {} : { stoppedInMs: Date.now() - signalledAt }),
      });
    });
  });
}

function signalCode(signal: NodeJS.Signals | null): number | undefined {
  return signal === null ? undefined : 128 + (signal === 'SIGHUP' ? 1 : signal === 'SIGINT' ? 2 : 15);
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm start', () => {
  it('runs --events to completion and prints one JSON summary line last', async () => {
    const { code, stdout } = await start([
      '--events',
      '5000',
      '--devices',
      '50',
      '--bad-ratio',
      '0.02',
      '--partitions',
      '2',
      '--port',
      '0',
    ]);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    const summary = JSON.parse(lines.at(-1) as string);
    expect(summary).toMatchObject({
      produced: 5_000,
      processed: 5_000,
      toFailureDestination: 0,
      finalLag: 0,
    });
    const quarantined = Object.values(summary.quarantined as Record<string, number>).reduce(
      (a, b) => a + b,
      0,
    );
    expect(summary.applied + quarantined).toBe(5_000);
    expect(quarantined).toBeGreaterThan(0);
    expect(summary.throughput).toBeGreaterThan(0);
    expect(summary.durationMs).toBeGreaterThan(0);
  }, 150_000);

  it('stops cleanly on Ctrl-C in a terminal: exit 0, a summary, no errors, and the servers it started are gone', async () => {
    const { code, stdout, stderr } = await start(
      ['--port', '0', '--rate', '3000', '--partitions', '2'],
      (err) => /processed [1-9]/.test(err),
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string).processed).toBeGreaterThan(0);
    expect(stderr).not.toMatch(/"level":"ERROR"/);
    const ports = [...stderr.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    expect(ports.length).toBeGreaterThanOrEqual(2);
    for (const port of ports) expect(await listening(port)).toBe(false);
  }, 150_000);

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'stops within seconds on %s at --rate 1, with the simulator between two records',
    async (signal) => {
      const { code, stdout, stoppedInMs } = await start(
        ['--port', '0', '--rate', '1', '--partitions', '2'],
        (err) => /processed [1-9]/.test(err),
        signal,
      );
      expect(code).toBe(0);
      expect(JSON.parse(stdout.trim().split('\n').at(-1) as string).produced).toBeGreaterThan(0);
      // Before, the simulator sent a chunk of 1,000 and slept 1,000 s without listening.
      expect(stoppedInMs).toBeLessThan(10_000);
    },
    150_000,
  );

  it('leaves no server behind when its terminal closes', async () => {
    const { code, stderr } = await start(
      ['--port', '0', '--rate', '3000', '--partitions', '2'],
      (err) => /processed [1-9]/.test(err),
      'SIGHUP',
    );
    expect(code).toBe(129);
    const ports = [...stderr.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    expect(ports.length).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const port of ports) expect(await listening(port)).toBe(false);
  }, 150_000);

  it('refuses a bad setting, naming it, with a non-zero exit', async () => {
    const { code, stderr } = await start(['--events', '10', '--batch-size', '20000']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/eventSource\.batchSize must be a whole number from 1 to 10000, got 20000/);
  });
});
