/**
 * One measurement of the handler cases of `npm run bench` (10,000 records from 1,000 devices, and
 * from 10,000 devices), with the code of the source tree given as `--tree` (default: this one), so
 * that bench/compare-handler.ts can run two trees in turns on the same machine. Prints one JSON line.
 */
import '../local/quiet-powertools';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Context, MSKEvent } from 'aws-lambda';
import { analyticsNodeFlags, relaunchWithNodeFlags } from '../local/node-options';
import { BatchFactory } from './fixtures';
import { startBenchServers } from './servers';
import { deliveries, measure, throughput } from './stats';

const { values } = parseArgs({
  options: {
    tree: { type: 'string', default: resolve(import.meta.dirname, '..') },
    iterations: { type: 'string', default: '10' },
    devices: { type: 'string', default: '1000,10000' },
  },
});

async function main(): Promise<void> {
  if (await relaunchWithNodeFlags(analyticsNodeFlags())) return;
  const tree = resolve(values.tree as string);
  const { createAnalyticsContainer } = await import(join(tree, 'functions/analytics/container.ts'));
  const { createAnalyticsHandler } = await import(join(tree, 'functions/analytics/handler.ts'));
  const { SchemaRegistry } = await import(join(tree, 'functions/shared/avro/schema-registry.ts'));
  const iterations = Number(values.iterations);
  const servers = await startBenchServers();
  const container = createAnalyticsContainer(servers.env);
  const handler = createAnalyticsHandler({ container: () => container });
  const context = { awsRequestId: 'bench' } as Context;
  const out: Record<string, number> = {};
  try {
    for (const devices of (values.devices as string).split(',').map(Number)) {
      const factory = new BatchFactory(SchemaRegistry.fromDirectory(join(tree, 'schemas')), devices, devices);
      const events = deliveries(Array.from({ length: iterations + 10 }, () => factory.event(10_000)));
      const ms = await measure(
        iterations,
        10,
        (event: MSKEvent) => handler(event, context).then(() => undefined),
        events,
      );
      out[`devices${devices}`] = Math.round(throughput(ms, 10_000).median);
    }
  } finally {
    await container.close();
    await servers.stop();
  }
  console.log(JSON.stringify(out));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
