/** Run by test/local/node-options.test.ts: relaunches itself with heap flags, then reports. */
import { relaunchWithNodeFlags } from '../../local/node-options';

await relaunchWithNodeFlags({
  nodeOptions: ['--max-semi-space-size=8'],
  launchFlags: ['--min-semi-space-size=4'],
});
process.stdout.write(
  `${JSON.stringify({
    nodeOptions: process.env.NODE_OPTIONS,
    outer: process.env.SURGE_OUTER_NODE_OPTIONS,
    execArgv: process.execArgv.filter((arg) => arg.includes('semi-space')),
  })}\n`,
);
process.exit(3);
