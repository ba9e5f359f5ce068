/**
 * Before and after in one run: bench/handler-case.ts on two source trees, taking turns, so that the
 * machine's drift falls on both alike. `--before` is a checkout of the earlier commit (for instance
 * `git worktree add /tmp/surge-before <commit>`, with this tree's node_modules linked into it).
 *
 *   npx tsx bench/compare-handler.ts --before /tmp/surge-before [--rounds 5] [--devices 1000,10000]
 *
 * Prints the median of each tree's per-round medians, in records/s, per case.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    // The cases, by devices per 10,000 records (handler-case.ts's --devices).
    devices: { type: 'string', default: '1000,10000' },
  },
});
if (!values.before) throw new Error('--before must name the source tree of the earlier commit');
const trees = { before: resolve(values.before), after: resolve(import.meta.dirname, '..') };
const samples: Record<string, Record<string, number[]>> = { before: {}, after: {} };

for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, tree] of Object.entries(trees)) {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/handler-case.ts', '--tree', tree, '--devices', values.devices as string],
      {
        cwd: trees.after,
        encoding: 'utf8',
      },
    );
    if (run.status !== 0) throw new Error(`${name} failed: ${run.stderr}`);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as Record<string, number>;
    const cases = samples[name] as Record<string, number[]>;
    for (const [key, value] of Object.entries(result)) {
      cases[key] ??= [];
      cases[key].push(value);
    }
    process.stderr.write(`round ${round + 1} ${name}: ${JSON.stringify(result)}\n`);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const summary = Object.fromEntries(
  Object.entries(samples).map(([name, cases]) => [
    name,
    Object.fromEntries(Object.entries(cases).map(([key, xs]) => [key, { median: median(xs), samples: xs }])),
  ]),
);
console.log(JSON.stringify(summary, null, 2));
