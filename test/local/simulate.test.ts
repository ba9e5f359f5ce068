import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroundTruthFile } from '../../functions/simulator/ground-truth';
import { PROJECT_ROOT } from '../../lib/constructs/surge-function';
import { type MockKafka, startMockKafka } from '../../local/kafka/mock-cluster';
import { simulate } from '../../local/simulator';
import { readTopic, topicEnd } from '../support/infrastructure';

let kafka: MockKafka;
const dir = mkdtempSync(join(tmpdir(), 'surge-simulate-'));

beforeAll(async () => {
  kafka = await startMockKafka({
    topics: [
      { name: 'iot-data', partitions: 3 },
      { name: 'paced', partitions: 1 },
    ],
  });
});

afterAll(async () => {
  await kafka?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('simulate', () => {
  it('spreads records evenly over each second at a set rate, and stops at once when told', async () => {
    const before = await topicEnd(kafka.bootstrapServers, 'paced');
    const abort = new AbortController();
    const run = simulate({
      brokers: kafka.brokers,
      topic: 'paced',
      devices: 5,
      events: 1_000_000,
      rate: 10,
      badRatio: 0,
      signal: abort.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_550));
    const stopAt = Date.now();
    abort.abort();
    const { produced } = await run;
    const stoppedAfterMs = Date.now() - stopAt;
    // Ten a second, one at a time: about 16 after 1.55 s, never the 1,000 of a chunk.
    expect(produced).toBeGreaterThanOrEqual(12);
    expect(produced).toBeLessThanOrEqual(20);
    expect(stoppedAfterMs).toBeLessThan(2_000);
    const messages = await readTopic(kafka.bootstrapServers, 'paced', before);
    const times = messages.map((m) => Number(m.timestamp)).sort((a, b) => a - b);
    expect(times).toHaveLength(produced);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    // Evenly: no burst (two records sent together) anywhere after the first.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(50);
  });
});

describe('npm run simulate', () => {
  it('publishes the events keyed by device and writes the ground truth of what it sent', async () => {
    const truthFile = join(dir, 'truth.json');
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'local/simulate.ts',
        '--devices',
        '20',
        '--rate',
        '0',
        '--events',
        '3000',
        '--bad-ratio',
        '0.1',
        '--schema',
        'v1',
        '--truth',
        truthFile,
      ],
      { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, KAFKA_BROKERS: kafka.bootstrapServers } },
    );
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout.trim());
    const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as GroundTruthFile;
    const bad = Object.values(summary.bad as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(summary.produced).toBe(3_000);
    expect(Object.keys(summary.bad).sort()).toEqual([
      'BAD_MAGIC',
      'DECODE_ERROR',
      'INVALID',
      'NULL_VALUE',
      'UNKNOWN_SCHEMA',
    ]);
    expect(truth.records).toBe(3_000 - bad);
    expect(truth.quarantined).toEqual(summary.bad);
    expect(truth.devices).toHaveLength(20);
    expect(truth.devices.reduce((n, d) => n + d.count, 0)).toBe(truth.records);
    for (const device of truth.devices) expect(device.last.firmware).toBe('unknown');
    const end = await topicEnd(kafka.bootstrapServers, 'iot-data');
    expect([...end.values()].reduce((a, b) => a + b, 0)).toBe(3_000);
    const messages = await readTopic(kafka.bootstrapServers, 'iot-data');
    const keys = new Set(messages.map((m) => m.key?.toString()));
    expect([...keys].every((k) => /^sensor-\d{5}$/.test(k ?? ''))).toBe(true);
    expect(keys.size).toBe(20);
    // Keyed by device, so each device's readings stay on one partition, in order.
    const partitionsOf = new Map<string, Set<number>>();
    for (const m of messages)
      partitionsOf.set(
        m.key?.toString() ?? '',
        (partitionsOf.get(m.key?.toString() ?? '') ?? new Set()).add(m.partition),
      );
    for (const partitions of partitionsOf.values()) expect(partitions.size).toBe(1);
  });

  it('says what to set when no broker is given', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'local/simulate.ts'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, KAFKA_BROKERS: '' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/set KAFKA_BROKERS/);
  });
});
