import { Worker } from 'node:worker_threads';
import { CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import type { QuarantineReason } from '../functions/domain/telemetry';
import { SchemaRegistry } from '../functions/shared/avro/schema-registry';
import { useLeanProduceEncoding } from '../functions/shared/kafka/lean-produce';
import { javaCompatiblePartitioner } from '../functions/shared/kafka/partitioner';
import {
  BAD_RECORD_KINDS,
  badValue,
  encodeReading,
  random,
  type SchemaChoice,
  TelemetryGenerator,
} from '../functions/simulator/generator';
import { GroundTruth } from '../functions/simulator/ground-truth';

export interface SimulatorOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly devices: number;
  readonly events: number;
  /** Events per second; 0 for as fast as the broker takes them. */
  readonly rate: number;
  /** Share of records made bad, cycling through every quarantine reason. */
  readonly badRatio: number;
  readonly schema?: SchemaChoice;
  readonly seed?: number;
  readonly idempotent?: boolean;
  readonly onProgress?: (produced: number) => void;
  readonly signal?: AbortSignal;
}

export interface SimulatorResult {
  readonly produced: number;
  readonly bad: Readonly<Partial<Record<QuarantineReason, number>>>;
  readonly truth: GroundTruth;
}

const CHUNK = 1_000;
/** Sends per second at a set rate: records are spread evenly over each second, not sent in bursts. */
const SENDS_PER_SECOND = 20;

/** Waits `ms`, or less if `signal` aborts first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Produces telemetry for a fleet, keyed by deviceId, paced to `rate`, with bad records injected
 * at `badRatio`; returns the ground truth of what it sent. Stops early when `signal` aborts.
 */
export async function simulate(options: SimulatorOptions): Promise<SimulatorResult> {
  const registry = SchemaRegistry.fromDirectory();
  const generator = new TelemetryGenerator({
    devices: options.devices,
    seed: options.seed ?? 42,
    schema: options.schema,
  });
  const chance = random((options.seed ?? 42) ^ 0xbad);
  const truth = new GroundTruth();
  const bad: Partial<Record<QuarantineReason, number>> = {};
  // The simulator often runs on a thread of its own: kafkajs there needs the lean encoder too.
  useLeanProduceEncoding();
  const producer: Producer = new Kafka({
    clientId: 'surge-simulator',
    brokers: [...options.brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 12, initialRetryTime: 100, maxRetryTime: 2_000 },
  }).producer({
    idempotent: options.idempotent ?? false,
    allowAutoTopicCreation: false,
    createPartitioner: javaCompatiblePartitioner,
  });
  await producer.connect();
  const started = Date.now();
  let produced = 0;
  let badCount = 0;
  const chunk =
    options.rate > 0 ? Math.max(1, Math.min(CHUNK, Math.round(options.rate / SENDS_PER_SECOND))) : CHUNK;
  try {
    while (produced < options.events && !options.signal?.aborted) {
      const size = Math.min(chunk, options.events - produced);
      const messages = [];
      for (let i = 0; i < size; i++) {
        const generated = generator.reading();
        const kind =
          chance() < options.badRatio ? BAD_RECORD_KINDS[badCount++ % BAD_RECORD_KINDS.length] : undefined;
        if (kind === undefined) {
          truth.add(generated.reading);
          messages.push({ key: generated.reading.deviceId, value: encodeReading(registry, generated) });
        } else {
          truth.quarantine(kind);
          bad[kind] = (bad[kind] ?? 0) + 1;
          messages.push({ key: generated.reading.deviceId, value: badValue(registry, generated, kind) });
        }
      }
      await producer.send({ topic: options.topic, acks: -1, compression: CompressionTypes.None, messages });
      produced += size;
      options.onProgress?.(produced);
      if (options.rate > 0) {
        const due = started + (produced / options.rate) * 1_000;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait, options.signal);
      }
    }
  } finally {
    await producer.disconnect();
  }
  return { produced, bad, truth };
}

export type ThreadSimulatorOptions = Omit<SimulatorOptions, 'signal' | 'onProgress'> & {
  readonly onProgress?: (produced: number) => void;
  readonly signal?: AbortSignal;
};

/**
 * simulate() on a worker thread (without the ground truth, which stays with the caller of
 * simulate()): the local runtime's producer then has a core of its own.
 */
export function simulateOnThread(options: ThreadSimulatorOptions): Promise<Omit<SimulatorResult, 'truth'>> {
  const { onProgress, signal, ...data } = options;
  // A worker does not inherit tsx's loader: it registers it before importing the TypeScript entry.
  const loader = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./simulator-worker.ts', import.meta.url).href;
  const worker = new Worker(
    `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true, workerData: data },
  );
  const stop = () => worker.postMessage('stop');
  signal?.addEventListener('abort', stop, { once: true });
  return new Promise<Omit<SimulatorResult, 'truth'>>((resolve, reject) => {
    worker.on(
      'message',
      (message: { progress?: number; done?: Omit<SimulatorResult, 'truth'>; error?: string }) => {
        if (message.progress !== undefined) onProgress?.(message.progress);
        else if (message.done !== undefined) resolve(message.done);
        else if (message.error !== undefined) reject(new Error(message.error));
      },
    );
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the simulator thread exited with code ${code}`)));
  }).finally(() => {
    signal?.removeEventListener('abort', stop);
    void worker.terminate();
  });
}
