/**
 * Where a handler case's CPU goes, per record: Node.js (this process, GC threads included), Redis
 * (`INFO cpu`) and the mock broker (its process's /proc times), against the wall time, and the
 * device script's own time per device (`INFO commandstats`). On a machine whose cores all three
 * share, a case can go no faster than their sum allows (docs/performance.md, "Session 9").
 *
 *   npx tsx bench/cpu-split.ts [--devices 10000] [--batches 20]
 *
 * Linux only (/proc). Prints one JSON line.
 */
import '../local/quiet-powertools';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Context } from 'aws-lambda';
import { Redis } from 'ioredis';
import { createAnalyticsContainer } from '../functions/analytics/container';
import { createAnalyticsHandler } from '../functions/analytics/handler';
import { SchemaRegistry } from '../functions/shared/avro/schema-registry';
import { analyticsNodeFlags, relaunchWithNodeFlags } from '../local/node-options';
import { BatchFactory } from './fixtures';
import { startBenchServers } from './servers';
import { deliveries } from './stats';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    batches: { type: 'string', default: '20' },
  },
});
const RECORDS = 10_000;
const CLOCK_TICKS = 100;

/** CPU seconds of this process's children whose command starts with `prefix`. */
function childCpuSeconds(prefix: string): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state, ppid, ..., utime (12th), stime (13th).
    if (!command.startsWith(prefix) || Number(fields[1]) !== process.pid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

function infoNumber(info: string, field: string): number {
  const match = new RegExp(`${field}[:=]([\\d.]+)`).exec(info);
  if (match === null) throw new Error(`INFO has no ${field}`);
  return Number(match[1]);
}

async function main(): Promise<void> {
  if (await relaunchWithNodeFlags(analyticsNodeFlags())) return;
  const devices = Number(values.devices);
  const batches = Number(values.batches);
  const servers = await startBenchServers();
  const container = createAnalyticsContainer(servers.env);
  const handler = createAnalyticsHandler({ container: () => container });
  const context = { awsRequestId: 'cpu-split' } as Context;
  const admin = new Redis(servers.redis.url);
  try {
    const factory = new BatchFactory(
      SchemaRegistry.fromDirectory(join(import.meta.dirname, '../schemas')),
      devices,
      devices,
    );
    const next = deliveries(Array.from({ length: batches + 10 }, () => factory.event(RECORDS)));
    for (let i = 0; i < 10; i++) await handler(next(), context);

    const redisCpu = async () => {
      const info = await admin.info('cpu');
      return infoNumber(info, 'used_cpu_user') + infoNumber(info, 'used_cpu_sys');
    };
    await admin.config('RESETSTAT');
    const redis0 = await redisCpu();
    const broker0 = childCpuSeconds('mock-cluster');
    const node0 = process.cpuUsage();
    let wallMs = 0;
    for (let i = 0; i < batches; i++) {
      const event = next();
      const start = performance.now();
      await handler(event, context);
      wallMs += performance.now() - start;
    }
    const node = process.cpuUsage(node0);
    const broker = childCpuSeconds('mock-cluster') - broker0;
    const redisSeconds = (await redisCpu()) - redis0;
    const scripts = await admin.info('commandstats');
    const records = batches * RECORDS;
    const perRecord = (seconds: number) => Number(((seconds * 1e6) / records).toFixed(2));
    console.log(
      JSON.stringify({
        devices,
        batches,
        microsecondsPerRecord: {
          node: perRecord((node.user + node.system) / 1e6),
          redis: perRecord(redisSeconds),
          broker: perRecord(broker),
          wall: perRecord(wallMs / 1e3),
        },
        // Each batch's devices are each applied once, so this is the script's time per device.
        deviceScriptMicrosecondsPerDevice: Number(
          (infoNumber(scripts, 'cmdstat_evalsha:calls=\\d+,usec') / (batches * devices)).toFixed(2),
        ),
      }),
    );
  } finally {
    admin.disconnect();
    await container.close();
    await servers.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
