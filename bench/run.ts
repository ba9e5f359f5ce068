/**
 * npm run bench: every case in one run, on real Redis and the local Kafka-protocol broker.
 * Writes bench/results.json and docs/bench-throughput.svg; prints a table. See docs/performance.md.
 */
import '../local/quiet-powertools';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { kafkaConsumer, SchemaType } from '@aws-lambda-powertools/kafka';
import type avro from 'avsc';
import type { Context, MSKEvent } from 'aws-lambda';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { type AnalyticsContainer, createAnalyticsContainer } from '../functions/analytics/container';
import { createAnalyticsHandler } from '../functions/analytics/handler';
import { SCHEMA_IDS, SchemaRegistry } from '../functions/shared/avro/schema-registry';
import { parseMskEvent } from '../functions/shared/msk/event';
import { BUCKET_MS } from '../functions/shared/redis/layout';
import { PROJECT_ROOT } from '../lib/constructs/surge-function';
import { analyticsNodeFlags, relaunchWithNodeFlags } from '../local/node-options';
import { lineChart } from './chart';
import { type ColdRuns, measureColdStart } from './cold-start';
import { BatchFactory } from './fixtures';
import { naiveHandler } from './naive-handler';
import { LAMBDA_NODE_MAJOR, lambdaRuntimeNode } from './runtime-node';
import { startBenchServers } from './servers';
import { deliveries, type Measurement, measure, summarize, throughput } from './stats';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 10);
// Enough for V8 to have optimised the hot paths, as in a container that has served a few batches;
// the cold invocation is measured apart.
const WARMUP = 10;
const context = { awsRequestId: 'bench' } as Context;
const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

interface Rate {
  readonly recordsPerSecond: Measurement;
}

/** The last line of `npm start -- --events N`. */
interface PipelineResult {
  throughput: number;
  sustainedThroughput: number | null;
  maxLag: number;
  finalLag: number;
  [key: string]: unknown;
}

/** The target rate the paced pipeline run must sustain (issue #5). */
const PACED_RATE = 50_000;

interface ColdSummary {
  node: string;
  coldMs: number[];
  importMs: number[];
  medianColdMs: number;
  medianImportMs: number;
}

function coldSummary(runs: ColdRuns): ColdSummary {
  return {
    ...runs,
    medianColdMs: summarize(runs.coldMs).median,
    medianImportMs: summarize(runs.importMs).median,
  };
}

/** Cold runs per Node.js binary: separate processes, so more of them than iterations are cheap. */
const COLD_RUNS = 9;

/** What bench/results.json holds. */
interface Results {
  handler?: Rate & {
    records: number;
    devices: number;
    bundleBytes: number;
    /** On this machine's Node.js. */
    cold: ColdSummary;
    /** On the Node.js major of the Lambda runtime (bench/runtime-node.ts), or why it could not run. */
    coldLambdaRuntime: ColdSummary | { unavailable: string };
  };
  /** The fleet case: as many devices as records, one reading per device per batch. */
  fleet?: Rate & { records: number; devices: number };
  naive?: Rate & { records: number };
  peer?: Rate & { records: number; note: string };
  floor?: Rate & { records: number };
  payload?: { avroBytes: number; jsonBytes: number };
  redis?: {
    batchSize: number;
    devices: number;
    /** Where the batch falls in its devices' window bucket: inside it, or across its end. */
    at: 'steady' | 'rotation';
    storeRoundTrips: number;
    commands: number;
    /** Commands per device of the batch, the scripts' inner commands included. */
    commandsPerDevice: number;
    calls: Record<string, number>;
  }[];
  sweep?: (Rate & { batchSize: number; devices: number })[];
  naiveSweep?: (Rate & { batchSize: number })[];
  pipeline?: PipelineResult;
  pipelinePaced?: PipelineResult & { rate: number };
  machine?: Record<string, unknown>;
}

/** Family, model and stepping from /proc/cpuinfo, where there is one. */
function cpuIdentity(): string | undefined {
  if (!existsSync('/proc/cpuinfo')) return undefined;
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (name: string) => new RegExp(`^${name}\\s*: (.*)$`, 'm').exec(info)?.[1];
  return `family ${field('cpu family')} model ${field('model')} stepping ${field('stepping')}`;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the run produced no ${what}`);
  return value;
}

async function main(): Promise<void> {
  const registry = SchemaRegistry.fromDirectory();
  const servers = await startBenchServers();
  const { redis, kafka } = servers;
  // Cold-start children are given these on top of their own environment.
  const env = servers.targets;
  const containers: AnalyticsContainer[] = [];
  const handlerFor = () => {
    const container = createAnalyticsContainer(servers.env);
    containers.push(container);
    return { container, handler: createAnalyticsHandler({ container: () => container }) };
  };
  const client = new Redis(redis.url);
  const producer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer({
    idempotent: false,
  });
  await producer.connect();
  const results: Results = {};

  try {
    // 1. The handler, 10,000 records from 1,000 devices, v1/v2 mix.
    log('1. analytics handler, 10,000 records / 1,000 devices');
    const { container, handler } = handlerFor();
    const factory = new BatchFactory(registry, 1_000);
    // Every invocation gets new offsets: a batch seen before would be skipped as a redelivery.
    // Only their JSON text is kept, as the runtime receives it.
    const case1Events = deliveries(Array.from({ length: ITERATIONS + WARMUP }, () => factory.event(10_000)));
    const handlerMs = await measure(
      ITERATIONS,
      WARMUP,
      (event: MSKEvent) => handler(event, context).then(() => undefined),
      case1Events,
    );
    const case1 = throughput(handlerMs, 10_000);
    const runtimeNode = lambdaRuntimeNode();
    const machineNode = { execPath: process.execPath, version: process.version };
    const nodes =
      'execPath' in runtimeNode && runtimeNode.version !== process.version
        ? [machineNode, runtimeNode]
        : [machineNode];
    const coldFactory = new BatchFactory(registry, 1_000, 99);
    const cold = await measureColdStart(
      Array.from({ length: COLD_RUNS * nodes.length }, () => coldFactory.event(10_000)),
      env,
      analyticsNodeFlags(),
      nodes,
    );
    const [onMachine, onRuntime] = cold.runs.map(coldSummary) as [ColdSummary, ColdSummary | undefined];
    results.handler = {
      records: 10_000,
      devices: 1_000,
      recordsPerSecond: case1,
      bundleBytes: cold.bundleBytes,
      cold: onMachine,
      coldLambdaRuntime: onRuntime ?? ('unavailable' in runtimeNode ? runtimeNode : onMachine),
    };

    // 1b. The fleet case: 10,000 records from 10,000 devices, a reading per device per batch, where
    // the per-device cost (Redis commands, script work, a summary each) dominates.
    log('1b. analytics handler, 10,000 records / 10,000 devices');
    const fleetFactory = new BatchFactory(registry, 10_000, 10_000);
    const fleetMs = await measure(
      ITERATIONS,
      WARMUP,
      (event: MSKEvent) => handler(event, context).then(() => undefined),
      deliveries(Array.from({ length: ITERATIONS + WARMUP }, () => fleetFactory.event(10_000))),
    );
    results.fleet = { records: 10_000, devices: 10_000, recordsPerSecond: throughput(fleetMs, 10_000) };

    // 2. The naive reference on the same records, as JSON.
    log('2. naive reference');
    const naive = naiveHandler(client, producer);
    const jsonFactory = new BatchFactory(registry, 1_000);
    const naiveIterations = Math.min(ITERATIONS, 10);
    const events2 = Array.from({ length: naiveIterations + 1 }, () => jsonFactory.event(10_000, 'json'));
    const naiveMs = await measure(naiveIterations, 1, (event: MSKEvent) => naive(event), deliveries(events2));
    const case2 = throughput(naiveMs, 10_000);
    results.naive = { records: 10_000, recordsPerSecond: case2 };

    // 3. The peer: Powertools for AWS Lambda's Kafka consumer, decoding the same readings as Avro.
    log('3. peer (@aws-lambda-powertools/kafka, avro-js)');
    const v2Schema = JSON.stringify(registry.typeOf(SCHEMA_IDS.telemetryV2).schema());
    let decoded = 0;
    const peer = kafkaConsumer(
      async (event: { records: Iterable<{ value: unknown }> }) => {
        for (const record of event.records) if (record.value !== undefined) decoded++;
      },
      { value: { type: SchemaType.AVRO, schema: v2Schema } },
    ) as unknown as (event: MSKEvent, context: Context) => Promise<void>;
    const rawFactory = new BatchFactory(registry, 1_000);
    const events3 = Array.from({ length: 4 }, () => rawFactory.event(10_000, 'raw-avro-v2'));
    const peerMs = await measure(
      ITERATIONS,
      WARMUP,
      (event: MSKEvent) => peer(event, context),
      deliveries(events3),
    );
    if (decoded === 0) throw new Error('the peer decoded nothing');
    const case3 = throughput(peerMs, 10_000);
    results.peer = {
      records: 10_000,
      recordsPerSecond: case3,
      note: 'decode only, v2 readings as raw Avro (it reads no Confluent header and no schema versions)',
    };

    // 4. The floor: parse the event, base64-decode, avsc-decode.
    log('4. floor (parse + base64 + avsc)');
    const floorFactory = new BatchFactory(registry, 1_000);
    const events4 = Array.from({ length: 4 }, () => floorFactory.event(10_000));
    const reader = registry.typeOf(SCHEMA_IDS.telemetryV2);
    const resolver = reader.createResolver(registry.typeOf(SCHEMA_IDS.telemetryV1));
    const floorMs = await measure(
      ITERATIONS,
      WARMUP,
      async (event: MSKEvent) => {
        for (const record of parseMskEvent(event)) {
          const value = record.value as Buffer;
          const id = value.readUInt32BE(1);
          reader.decode(value, 5, id === SCHEMA_IDS.telemetryV2 ? undefined : (resolver as avro.Resolver));
        }
      },
      deliveries(events4),
    );
    const case4 = throughput(floorMs, 10_000);
    results.floor = { records: 10_000, recordsPerSecond: case4 };

    // 5. Payload size per record.
    const sizeFactory = new BatchFactory(registry, 1_000, 5);
    const avroEvent = sizeFactory.event(1_000);
    const jsonEvent = new BatchFactory(registry, 1_000, 5).event(1_000, 'json');
    const bytes = (event: MSKEvent) =>
      parseMskEvent(event).reduce((n, r) => n + (r.value?.length ?? 0), 0) / 1_000;
    results.payload = { avroBytes: bytes(avroEvent), jsonBytes: bytes(jsonEvent) };

    // 6. Redis commands and round trips per batch, counted by the server (scripts' commands included).
    log('6. Redis commands and round trips per batch');
    const processor = await container.processor();
    const perBatch: NonNullable<Results['redis']> = [];
    // Where the two batches fall in a ten-minute window bucket decides what a device costs: in
    // steady state every device reports into its current bucket; at the bucket's end the counted
    // batch straddles the boundary and every device with a reading past it rotates its bucket.
    // Set here, rather than left to the clock, so that runs compare.
    const bucketStart = Math.floor((Date.now() - 12 * 3_600_000) / BUCKET_MS) * BUCKET_MS;
    for (const [size, deviceCount, at] of [
      [100, 1_000, 'steady'],
      [1_000, 1_000, 'steady'],
      [10_000, 1_000, 'steady'],
      [10_000, 10_000, 'steady'],
      [10_000, 1_000, 'rotation'],
      [10_000, 10_000, 'rotation'],
    ] as const) {
      // A batch of 10,000 spans 50 s: steady starts 60 s into the bucket; at a rotation the counted batch's middle is the boundary.
      const span = size * 5;
      const startTs = at === 'steady' ? bucketStart + 60_000 : bucketStart + BUCKET_MS - span - span / 2;
      const f = new BatchFactory(registry, deviceCount, 7 + size + deviceCount, undefined, startTs);
      await processor(parseMskEvent(f.event(size)));
      await client.config('RESETSTAT');
      const outcome = await processor(parseMskEvent(f.event(size)));
      const stats = await client.info('commandstats');
      const calls: Record<string, number> = {};
      for (const line of stats.split('\n')) {
        const m = /^cmdstat_([a-z_|]+):calls=(\d+)/.exec(line.trim());
        if (m && !/^(config|info)/.test(m[1] as string)) calls[m[1] as string] = Number(m[2]);
      }
      const total = Object.values(calls).reduce((a, b) => a + b, 0);
      perBatch.push({
        batchSize: size,
        devices: outcome.devices,
        at,
        storeRoundTrips: outcome.storeCalls,
        commands: total,
        commandsPerDevice: Number((total / outcome.devices).toFixed(2)),
        calls,
      });
    }
    results.redis = perBatch;

    // 7. Sweeps: batch size × devices.
    log('7. sweeps');
    const sweep: { batchSize: number; devices: number; recordsPerSecond: Measurement }[] = [];
    for (const devices of [10, 1_000, 10_000]) {
      for (const batchSize of [100, 1_000, 10_000]) {
        const f = new BatchFactory(registry, devices, devices + batchSize);
        const events = deliveries(Array.from({ length: ITERATIONS + WARMUP }, () => f.event(batchSize)));
        const ms = await measure(
          ITERATIONS,
          WARMUP,
          (event: MSKEvent) => handler(event, context).then(() => undefined),
          events,
        );
        sweep.push({ batchSize, devices, recordsPerSecond: throughput(ms, batchSize) });
        log(
          `   batch ${fmt(batchSize)} devices ${fmt(devices)}: ${fmt(sweep.at(-1)?.recordsPerSecond.median ?? 0)} records/s`,
        );
      }
    }
    results.sweep = sweep;
    const naiveSweep: { batchSize: number; recordsPerSecond: Measurement }[] = [];
    for (const batchSize of [100, 1_000]) {
      const f = new BatchFactory(registry, 1_000, 3 + batchSize);
      const events = Array.from({ length: ITERATIONS + 1 }, () => f.event(batchSize, 'json'));
      const ms = await measure(ITERATIONS, 1, (event: MSKEvent) => naive(event), deliveries(events));
      naiveSweep.push({ batchSize, recordsPerSecond: throughput(ms, batchSize) });
    }
    naiveSweep.push({ batchSize: 10_000, recordsPerSecond: case2 });
    results.naiveSweep = naiveSweep;
  } finally {
    await Promise.all(containers.map((c) => c.close()));
    await producer.disconnect();
    client.disconnect();
    await servers.stop();
  }

  // 8. The local pipeline end to end: as fast as it goes, then paced at the target rate.
  const pipeline = (extra: string[]): PipelineResult => {
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'local/start.ts',
        '--events',
        '200000',
        '--port',
        '0',
        '--devices',
        '1000',
        ...extra,
      ],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        // Exactly what `npm start` runs: without the deployed function's heap flags this process has.
        env: {
          ...process.env,
          KAFKA_BROKERS: '',
          REDIS_URL: '',
          NODE_OPTIONS: process.env.SURGE_OUTER_NODE_OPTIONS ?? '',
        },
        timeout: 600_000,
      },
    );
    if (run.status !== 0) throw new Error(`the local pipeline failed: ${run.stderr.slice(-2_000)}`);
    return JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as PipelineResult;
  };
  log('8. local pipeline, npm start -- --events 200000');
  results.pipeline = pipeline([]);
  log(`8. local pipeline paced, npm start -- --events 200000 --rate ${PACED_RATE}`);
  results.pipelinePaced = { rate: PACED_RATE, ...pipeline(['--rate', String(PACED_RATE)]) };

  const { launchFlags } = analyticsNodeFlags();
  results.machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    // VMs of one model name differ (this project's runs met two at half each other's speed).
    cpuId: cpuIdentity(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    nodeOptions: process.env.NODE_OPTIONS ?? '',
    // Given on the command line, as the function's launch wrapper does.
    launchFlags: process.execArgv.filter((flag) => launchFlags.includes(flag)),
    iterations: ITERATIONS,
    warmup: WARMUP,
    date: new Date().toISOString(),
  };
  writeFileSync(join(PROJECT_ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);

  const r = {
    handler: required(results.handler, 'handler result'),
    fleet: required(results.fleet, 'fleet result'),
    naive: required(results.naive, 'naive result'),
    peer: required(results.peer, 'peer result'),
    floor: required(results.floor, 'floor result'),
    payload: required(results.payload, 'payload sizes'),
    redis: required(results.redis, 'Redis counts'),
    naiveSweep: required(results.naiveSweep, 'naive sweep'),
    pipeline: required(results.pipeline, 'pipeline result'),
    pipelinePaced: required(results.pipelinePaced, 'paced pipeline result'),
  };
  const sweep = required(results.sweep, 'sweep');
  writeFileSync(
    join(PROJECT_ROOT, 'docs/bench-throughput.svg'),
    lineChart(
      'Throughput against batch size (1,000 devices)',
      'records per batch',
      'records per second (median)',
      [
        {
          name: 'Surge handler',
          color: '#1f77b4',
          points: sweep
            .filter((s) => s.devices === 1_000)
            .map((s) => ({ x: s.batchSize, y: s.recordsPerSecond.median })),
        },
        {
          name: 'naive reference',
          color: '#d62728',
          points: r.naiveSweep.map((s) => ({
            x: s.batchSize,
            y: s.recordsPerSecond.median,
          })),
        },
      ],
    ),
  );

  const h = r.handler.recordsPerSecond.median;
  const rows: [string, string][] = [
    [
      '1. handler, 10,000 records / 1,000 devices',
      `${fmt(h)} records/s (min ${fmt(r.handler.recordsPerSecond.min)}, max ${fmt(r.handler.recordsPerSecond.max)})`,
    ],
    [
      '1b. handler, 10,000 records / 10,000 devices',
      `${fmt(r.fleet.recordsPerSecond.median)} records/s (min ${fmt(r.fleet.recordsPerSecond.min)}, max ${fmt(r.fleet.recordsPerSecond.max)})`,
    ],
    [
      `   cold invocation on ${r.handler.cold.node} (import + first batch)`,
      `${fmt(r.handler.cold.medianColdMs)} ms (import ${fmt(r.handler.cold.medianImportMs)} ms), bundle ${fmt(r.handler.bundleBytes / 1024)} KiB`,
    ],
    [
      `   cold invocation on Node.js ${LAMBDA_NODE_MAJOR} (Lambda's)`,
      'unavailable' in r.handler.coldLambdaRuntime
        ? `not measured: ${r.handler.coldLambdaRuntime.unavailable}`
        : `${fmt(r.handler.coldLambdaRuntime.medianColdMs)} ms on ${r.handler.coldLambdaRuntime.node} (import ${fmt(r.handler.coldLambdaRuntime.medianImportMs)} ms)`,
    ],
    [
      '2. naive reference',
      `${fmt(r.naive.recordsPerSecond.median)} records/s -> handler is ${(h / r.naive.recordsPerSecond.median).toFixed(1)}x`,
    ],
    [
      '3. peer (Powertools Kafka, decode only)',
      `${fmt(r.peer.recordsPerSecond.median)} records/s -> handler is ${(h / r.peer.recordsPerSecond.median).toFixed(1)}x`,
    ],
    ['4. floor (parse + base64 + avsc)', `${fmt(r.floor.recordsPerSecond.median)} records/s`],
    [
      '5. payload per record',
      `Avro ${r.payload.avroBytes.toFixed(1)} B, JSON ${r.payload.jsonBytes.toFixed(1)} B`,
    ],
    ...r.redis.map(
      (x) =>
        [
          `6. Redis, batch ${fmt(x.batchSize)} (${fmt(x.devices)} devices${x.at === 'rotation' ? ', at a rotation' : ''})`,
          `${fmt(x.commands)} commands (${x.commandsPerDevice} per device), ${x.storeRoundTrips} store round trip(s)`,
        ] as [string, string],
    ),
    ...sweep.map(
      (s) =>
        [
          `7. batch ${fmt(s.batchSize)}, ${fmt(s.devices)} devices`,
          `${fmt(s.recordsPerSecond.median)} records/s`,
        ] as [string, string],
    ),
    [
      '8. local pipeline, 200,000 events',
      `${fmt(r.pipeline.throughput)} events/s overall, ${r.pipeline.sustainedThroughput === null ? 'n/a' : fmt(r.pipeline.sustainedThroughput)} sustained (10%-90%), max lag ${fmt(r.pipeline.maxLag)}, final lag ${r.pipeline.finalLag}`,
    ],
    [
      `8. paced at ${fmt(r.pipelinePaced.rate)} events/s`,
      `${r.pipelinePaced.sustainedThroughput === null ? 'n/a' : fmt(r.pipelinePaced.sustainedThroughput)} sustained (10%-90%), max lag ${fmt(r.pipelinePaced.maxLag)}, final lag ${r.pipelinePaced.finalLag}`,
    ],
  ];
  const width = Math.max(...rows.map(([a]) => a.length));
  process.stdout.write(`${rows.map(([a, b]) => `${a.padEnd(width)}  ${b}`).join('\n')}\n`);
}

// The handler runs in this process: with the V8 flags it is deployed with (stage config).
relaunchWithNodeFlags(analyticsNodeFlags())
  .then(main)
  .then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
