/**
 * The simulator on its own thread: generating, encoding and producing telemetry costs about as
 * much CPU as processing it, and on one thread the two would share a core.
 * Protocol: workerData = SimulatorOptions without callbacks; 'stop' aborts; posts
 * { progress } after each chunk, then { done: { produced, bad } } or { error }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type SimulatorOptions, simulate } from './simulator';

const port = parentPort;
if (port === null) throw new Error('simulator-worker.ts runs as a worker thread');
const abort = new AbortController();
port.on('message', (message) => {
  if (message === 'stop') abort.abort();
});
simulate({
  ...(workerData as SimulatorOptions),
  signal: abort.signal,
  onProgress: (produced) => port.postMessage({ progress: produced }),
}).then(
  ({ produced, bad }) => port.postMessage({ done: { produced, bad } }),
  (error: unknown) => port.postMessage({ error: error instanceof Error ? error.message : String(error) }),
);
