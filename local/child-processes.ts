import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();

/**
 * Servers the local tools start run in their own process group (spawn with `detached: true`), so a
 * Ctrl-C in the terminal reaches only the runtime, which then stops them in order, after the
 * in-flight batches. Should the runtime exit any other way, they are killed with it.
 */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
}

process.once('exit', killAll);
// A closed terminal (SIGHUP) or a SIGTERM would otherwise end the process without its 'exit' hooks.
for (const [signal, code] of [
  ['SIGHUP', 129],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    // A tool that stops gracefully on this signal (npm start on SIGTERM) stops its servers itself.
    if (process.listenerCount(signal) > 0) return;
    killAll();
    process.exit(code);
  });
}
