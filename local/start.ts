/**
 * npm start: the whole pipeline on this machine (see README, "Local runtime").
 *
 *   npm start [-- --events N] [--devices D] [--rate R] [--bad-ratio X] [--stage dev|prod|local]
 *             [--batch-size B] [--batching-window S] [--concurrency C] [--partitions P]
 *             [--retries N] [--max-record-age S] [--no-bisect] [--on-failure kafka|sqs|none]
 *             [--schema v1|v2|mixed] [--port 3000]
 */
import './quiet-powertools';
import { parseArgs } from 'node:util';
import type { FleetStats } from '../functions/domain/model';
import { loadStageConfig, maxConcurrentInvocations } from '../lib/config/stage-config';
import { sustainedRate } from './event-source/commit-rate';
import { LocalRuntime } from './runtime';
import { simulateOnThread } from './simulator';

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    devices: { type: 'string', default: '1000' },
    rate: { type: 'string' },
    'bad-ratio': { type: 'string', default: '0.01' },
    stage: { type: 'string', default: 'dev' },
    'batch-size': { type: 'string' },
    'batching-window': { type: 'string' },
    concurrency: { type: 'string' },
    partitions: { type: 'string' },
    retries: { type: 'string' },
    'max-record-age': { type: 'string' },
    'no-bisect': { type: 'boolean', default: false },
    'on-failure': { type: 'string' },
    schema: { type: 'string', default: 'mixed' },
    port: { type: 'string', default: '3000' },
  },
});

function numberFlag(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`--${name} must be a number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function overrides(): Record<string, Record<string, unknown>> {
  const eventSource: Record<string, unknown> = {};
  const set = (target: Record<string, unknown>, key: string, value: unknown) => {
    if (value !== undefined) target[key] = value;
  };
  set(eventSource, 'batchSize', numberFlag('batch-size', values['batch-size'], -Infinity, Infinity));
  set(
    eventSource,
    'maxBatchingWindowSeconds',
    numberFlag('batching-window', values['batching-window'], -Infinity, Infinity),
  );
  set(eventSource, 'retryAttempts', numberFlag('retries', values.retries, -Infinity, Infinity));
  set(
    eventSource,
    'maxRecordAgeSeconds',
    numberFlag('max-record-age', values['max-record-age'], -Infinity, Infinity),
  );
  if (values['no-bisect']) eventSource.bisectBatchOnError = false;
  set(eventSource, 'onFailure', values['on-failure']);
  const result: Record<string, Record<string, unknown>> = { eventSource };
  const concurrency = numberFlag('concurrency', values.concurrency, -Infinity, Infinity);
  if (concurrency !== undefined) result.analytics = { reservedConcurrency: concurrency };
  const partitions = numberFlag('partitions', values.partitions, -Infinity, Infinity);
  if (partitions !== undefined) result.kafka = { partitions };
  return result;
}

const format = (n: number) => Math.round(n).toLocaleString('en-US');

async function fleetStats(runtime: LocalRuntime): Promise<FleetStats | undefined> {
  try {
    const response = await fetch(`${runtime.queryUrl}/stats`);
    return response.ok ? ((await response.json()) as FleetStats) : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const config = loadStageConfig(values.stage, overrides());
  const events = numberFlag('events', values.events, 1, 100_000_000);
  const devices = numberFlag('devices', values.devices, 1, 1_000_000) as number;
  const badRatio = numberFlag('bad-ratio', values['bad-ratio'], 0, 1) as number;
  const rate = numberFlag('rate', values.rate, 0, 10_000_000) ?? (events === undefined ? 2_000 : 0);
  const schema = values.schema;
  if (schema !== 'v1' && schema !== 'v2' && schema !== 'mixed')
    throw new Error(`--schema must be v1, v2 or mixed, got "${schema}"`);
  const port = numberFlag('port', values.port, 0, 65_535) as number;

  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(
    `Surge local runtime: stage ${config.stage}, batch size ${config.eventSource.batchSize}, window ${config.eventSource.maxBatchingWindowSeconds} s, concurrency ${maxConcurrentInvocations(config)}, ${config.kafka.partitions} partitions`,
  );
  const runtime = await LocalRuntime.start({ config, port, onLog: log });
  log(
    `Kafka ${runtime.brokers.join(',')}${runtime.kafka ? ' (mock cluster)' : ''}  Redis ${runtime.redisUrl}  Query API ${runtime.queryUrl}`,
  );

  const abort = new AbortController();
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143);
    stopping = true;
    log('\nstopping: finishing in-flight batches, committing offsets...');
    abort.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const started = Date.now();
  let produced = 0;
  const production = simulateOnThread({
    brokers: runtime.brokers,
    topic: config.topics.input,
    devices,
    events: events ?? Number.MAX_SAFE_INTEGER,
    rate,
    badRatio,
    schema,
    idempotent: false,
    signal: abort.signal,
    onProgress: (n) => {
      produced = n;
    },
  });
  let producerDone = false;
  let producerError: unknown;
  production.then(
    () => {
      producerDone = true;
    },
    (error: unknown) => {
      producerError = error;
    },
  );

  const interactive = process.stdout.isTTY && events === undefined;
  // Rates over the last few seconds: batches land in bursts (one per batching window per partition).
  const history: { at: number; produced: number; processed: number }[] = [
    { at: Date.now(), produced: 0, processed: 0 },
  ];
  let stats: FleetStats | undefined;
  let lastProgressAt = Date.now();
  let lastCommitted = 0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, interactive ? 500 : 1_000));
    if (producerError !== undefined)
      throw new Error(`the simulator failed: ${(producerError as Error).message}`);
    const failure = runtime.emulator.failure;
    if (failure) {
      // Said where the user looks, then the runtime is stopped and the exit is non-zero.
      log(`event source stopped: ${failure.message}`);
      abort.abort();
      await production.catch(() => undefined);
      await runtime.stop().catch(() => undefined);
      throw new Error(`the event source stopped: ${failure.message}`, { cause: failure });
    }
    const s = runtime.emulator.stats;
    const now = Date.now();
    history.push({ at: now, produced, processed: s.committed });
    while (history.length > 2 && now - (history[1]?.at ?? now) >= 3_000) history.shift();
    const since = history[0] as { at: number; produced: number; processed: number };
    const seconds = Math.max((now - since.at) / 1_000, 0.001);
    const producedRate = (produced - since.produced) / seconds;
    const processedRate = (s.committed - since.processed) / seconds;
    if (s.committed !== lastCommitted) {
      lastCommitted = s.committed;
      lastProgressAt = now;
    }
    stats = (await fleetStats(runtime)) ?? stats;
    const lag = runtime.lag;
    const sizes = s.batchSizes.slice(-50);
    const avgBatch = sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 0;
    const quarantined = Object.entries(stats?.quarantined ?? {})
      .map(([reason, n]) => `${reason} ${format(n)}`)
      .join('  ');
    if (interactive) {
      process.stdout.write(
        [
          '\x1b[2J\x1b[H',
          `Surge local runtime  stage ${config.stage}  API ${runtime.queryUrl}  (Ctrl-C to stop)`,
          '',
          `produced     ${format(produced).padStart(12)}   ${format(producedRate).padStart(9)}/s`,
          `processed    ${format(s.committed).padStart(12)}   ${format(processedRate).padStart(9)}/s`,
          `in flight    ${String(s.inFlight).padStart(12)}   of ${maxConcurrentInvocations(config)}     buffered ${format(s.buffered)}`,
          `batches      ${format(s.invocations).padStart(12)}   avg size ${format(avgBatch)}   failed ${format(s.failedInvocations)}   to failure destination ${format(s.toFailureDestination)} records`,
          `lag          ${format(lag.total).padStart(12)}   per partition [${lag.perPartition.join(' ')}]   max ${format(runtime.maxLag)}`,
          `devices      ${format(stats?.devices ?? 0).padStart(12)}   records applied ${format(stats?.records ?? 0)}`,
          `quarantined  ${quarantined}`,
          '',
        ].join('\n'),
      );
    } else {
      log(
        `produced ${format(produced)}  processed ${format(s.committed)} (${format(processedRate)}/s)  in flight ${s.inFlight}  lag ${format(lag.total)}`,
      );
    }

    if (abort.signal.aborted) break;
    if (events !== undefined && producerDone && s.committed >= produced && s.inFlight === 0) break;
    if (events !== undefined && now - lastProgressAt > 120_000) {
      throw new Error(
        `no progress for 2 minutes (processed ${s.committed} of ${produced}): is the handler failing? see the log above`,
      );
    }
  }

  await production.catch(() => undefined);
  // Until the last commit, not until this loop (which wakes once a second) noticed it.
  const lastCommitAt = runtime.emulator.stats.lastCommitAt;
  const durationMs = (lastCommitAt > started ? lastCommitAt : Date.now()) - started;
  const lastLag = await runtime.sampleLag().catch(() => runtime.lag);
  stats = (await fleetStats(runtime)) ?? stats;
  const s = runtime.emulator.stats;
  await runtime.stop();
  const summary = {
    produced,
    processed: s.committed,
    applied: stats?.records ?? 0,
    quarantined: stats?.quarantined ?? {},
    toFailureDestination: s.toFailureDestination,
    invocations: s.invocations,
    durationMs,
    throughput: Math.round(s.committed / (durationMs / 1_000)),
    sustainedThroughput: sustainedRate(s.commitLog, s.committed),
    maxLag: runtime.maxLag,
    finalLag: lastLag.total,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`surge: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
