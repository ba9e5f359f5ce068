/** Run by test/local/node-options.test.ts: relaunches itself with a heap flag, then reports. */
import { relaunchWithNodeFlags } from '../../local/node-options';

await relaunchWithNodeFlags(['--max-semi-space-size=8']);
const { getHeapStatistics } = await import('node:v8');
process.stdout.write(
  `${JSON.stringify({
    nodeOptions: process.env.NODE_OPTIONS,
    outer: process.env.SURGE_OUTER_NODE_OPTIONS,
    heapLimit: getHeapStatistics().heap_size_limit > 0,
  })}\n`,
);
process.exit(3);
