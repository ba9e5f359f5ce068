import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureColdStart } from '../../bench/cold-start';
import { BatchFactory } from '../../bench/fixtures';
import { SchemaRegistry } from '../../functions/shared/avro/schema-registry';
import { RedisAnalyticsStore } from '../../functions/shared/redis/analytics-store';
import { createRedisClient } from '../../functions/shared/redis/clients';
import { analyticsNodeFlags } from '../../local/node-options';
import { type Infrastructure, startInfrastructure } from '../support/infrastructure';

const registry = SchemaRegistry.fromDirectory();
// Two labels for this machine's Node.js, to see the runs take turns between binaries.
const NODES = [
  { execPath: process.execPath, version: 'first' },
  { execPath: process.execPath, version: 'second' },
];
let infra: Infrastructure;

beforeAll(async () => {
  infra = await startInfrastructure();
}, 60_000);

afterAll(async () => {
  await infra?.stop();
});

describe('cold start measurement', () => {
  it('times the bundle’s import and first batch in fresh processes that take turns, each applying its own batch', async () => {
    const factory = new BatchFactory(registry, 10, 42);
    const events = [factory.event(100), factory.event(100), factory.event(100), factory.event(100)];

    const cold = await measureColdStart(events, infra.env, analyticsNodeFlags(), NODES);

    expect(cold.bundleBytes).toBeGreaterThan(0);
    expect(cold.runs.map((run) => run.node)).toEqual(['first', 'second']);
    for (const run of cold.runs) {
      expect(run.coldMs).toHaveLength(2);
      run.coldMs.forEach((coldMs, i) => {
        const importMs = run.importMs[i] as number;
        expect(importMs).toBeGreaterThan(0);
        expect(coldMs).toBeGreaterThan(importMs);
      });
    }
    // The bundled handler did the work inside the measured time: every batch was applied, none skipped.
    const client = createRedisClient(infra.redis.url);
    try {
      const stats = await new RedisAnalyticsStore(client, {
        keyPrefix: 'surge',
        windowTtlSeconds: 3_600,
      }).stats();
      expect(stats).toMatchObject({ devices: 10, records: 400 });
    } finally {
      client.disconnect();
    }
  }, 120_000);

  it('fails with the run’s error output when the bundled handler cannot start', async () => {
    const factory = new BatchFactory(registry, 10, 43);
    await expect(
      measureColdStart(
        [factory.event(10)],
        { ...infra.env, ALERT_TEMPERATURE_THRESHOLD: 'hot' },
        analyticsNodeFlags(),
        NODES.slice(0, 1),
      ),
    ).rejects.toThrow(/cold start run on first failed: [\s\S]*ALERT_TEMPERATURE_THRESHOLD/);
  }, 120_000);
});
