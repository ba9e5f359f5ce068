/**
 * npm start: a one-shot demo of the analytics processor. It starts a redis-server and a
 * Kafka-protocol broker (unless REDIS_URL / KAFKA_BROKERS point elsewhere), generates fleet
 * telemetry with some bad records, invokes the real Lambda handler batch by batch as the MSK
 * event source mapping would, redelivers a batch to show that nothing is counted twice, and
 * prints the analytics through the real query handler.
 *
 *   npm start -- [--events N] [--devices D] [--batch-size B] [--bad-ratio X]
 */
import { parseArgs } from 'node:util';
import { SchemaRegistry } from '../functions/shared/avro/schema-registry';
import { DEFAULT_TOPICS } from '../functions/shared/config';
import {
  BAD_RECORD_KINDS,
  badValue,
  encodeReading,
  random,
  TelemetryGenerator,
} from '../functions/simulator/generator';
import { apiGatewayEvent } from './api-gateway-event';
import { type MockKafka, startMockKafka } from './kafka/mock-cluster';
import { buildMskEvent, type KafkaRecordInput } from './msk-event';
import { type LocalRedis, startRedis } from './redis/redis-server';

const PARTITIONS = 6;

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    devices: { type: 'string', default: '500' },
    'batch-size': { type: 'string', default: '1000' },
    'bad-ratio': { type: 'string', default: '0.01' },
  },
});

function positive(name: string, raw: string | undefined, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`--${name} must be a whole number from 1 to ${max}, got "${raw}"`);
  }
  return value;
}

const events = positive('events', values.events, 10_000_000);
const devices = positive('devices', values.devices, 1_000_000);
const batchSize = positive('batch-size', values['batch-size'], 10_000);
const badRatio = Number(values['bad-ratio']);
if (!(badRatio >= 0 && badRatio <= 1))
  throw new Error(`--bad-ratio must be from 0 to 1, got "${values['bad-ratio']}"`);

async function main(): Promise<void> {
  const started: Array<LocalRedis | MockKafka> = [];
  try {
    if (!process.env.REDIS_URL) {
      const redis = await startRedis();
      started.push(redis);
      process.env.REDIS_URL = redis.url;
    }
    if (!process.env.KAFKA_BROKERS) {
      const kafka = await startMockKafka({
        topics: Object.values(DEFAULT_TOPICS).map((name) => ({ name, partitions: PARTITIONS })),
      });
      started.push(kafka);
      process.env.KAFKA_BROKERS = kafka.bootstrapServers;
      process.env.KAFKA_IDEMPOTENT = 'false';
    }
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
    console.log(
      `Surge demo: ${events} events from ${devices} devices, ${badRatio * 100}% bad, batches of ${batchSize}`,
    );
    console.log(`  Redis ${process.env.REDIS_URL}  Kafka ${process.env.KAFKA_BROKERS}\n`);

    const { handler } = await import('../functions/analytics/handler');
    const { handler: query } = await import('../functions/query/handler');

    // Records as a keyed producer would place them, then cut into batches the way the mapping does.
    const registry = SchemaRegistry.fromDirectory();
    const generator = new TelemetryGenerator({
      devices,
      seed: 42,
      startTs: Date.now() - 6 * 3_600_000,
      intervalMs: 50,
    });
    const chance = random(7);
    const offsets = new Array<number>(PARTITIONS).fill(0);
    const partitions: KafkaRecordInput[][] = Array.from({ length: PARTITIONS }, () => []);
    for (let i = 0; i < events; i++) {
      const generated = generator.reading();
      const partition = Number(generated.reading.deviceId.slice(-5)) % PARTITIONS;
      const bad = chance() < badRatio ? BAD_RECORD_KINDS[i % BAD_RECORD_KINDS.length] : undefined;
      const value =
        bad === undefined ? encodeReading(registry, generated) : badValue(registry, generated, bad);
      const offset = offsets[partition] ?? 0;
      offsets[partition] = offset + 1;
      partitions[partition]?.push({ partition, offset, key: generated.reading.deviceId, value });
    }

    const batches = [];
    for (const records of partitions) {
      for (let i = 0; i < records.length; i += batchSize)
        batches.push(buildMskEvent(records.slice(i, i + batchSize)));
    }
    const t0 = performance.now();
    for (const batch of batches) await handler(batch);
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `Processed ${events} records in ${batches.length} invocations: ${seconds.toFixed(2)} s, ${Math.round(events / seconds)} records/s`,
    );

    const before = JSON.parse((await query(apiGatewayEvent('GET', '/stats'))).body);
    if (batches[0] !== undefined) await handler(batches[0]);
    const after = JSON.parse((await query(apiGatewayEvent('GET', '/stats'))).body);
    const unchanged = JSON.stringify(before) === JSON.stringify(after);
    console.log(
      `Redelivered the first batch: fleet totals ${unchanged ? 'unchanged (exactly-once)' : 'CHANGED'}\n`,
    );
    if (!unchanged) throw new Error('a redelivered batch changed the aggregates');

    console.log('GET /stats');
    console.log(`  ${JSON.stringify(after)}\n`);
    console.log('Devices (GET /devices/{id}):');
    console.log('  device        count  temp min/mean/max      humidity mean  battery last  OK/WARN/FAIL');
    for (let d = 0; d < Math.min(devices, 8); d++) {
      const id = `sensor-${String(d).padStart(5, '0')}`;
      const response = await query(apiGatewayEvent('GET', `/devices/${id}`));
      if (response.statusCode !== 200) continue;
      const s = JSON.parse(response.body);
      console.log(
        `  ${id.padEnd(12)} ${String(s.count).padStart(6)}  ${s.temperature.min.toFixed(1)}/${s.temperature.mean.toFixed(2)}/${s.temperature.max.toFixed(1)}`.padEnd(
          46,
        ) +
          `${s.humidity.mean.toFixed(1).padStart(8)} %  ${s.battery.last.toFixed(1).padStart(9)} %    ${s.status.OK}/${s.status.WARN}/${s.status.FAIL}`,
      );
    }
    const windows = JSON.parse((await query(apiGatewayEvent('GET', '/devices/sensor-00000/windows'))).body);
    console.log(`\nGET /devices/sensor-00000/windows: ${windows.windows.length} minute windows, the last:`);
    console.log(`  ${JSON.stringify(windows.windows.at(-1))}`);
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
