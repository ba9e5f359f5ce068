/**
 * npm run simulate: publish device telemetry to a running pipeline's Kafka (KAFKA_BROKERS).
 *
 *   KAFKA_BROKERS=host:port npm run simulate -- --devices D --rate R --events N --bad-ratio X
 *                                            --schema v1|v2|mixed [--truth truth.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_TOPICS } from '../functions/shared/config';
import { simulate } from './simulator';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '100' },
    rate: { type: 'string', default: '1000' },
    events: { type: 'string', default: '10000' },
    'bad-ratio': { type: 'string', default: '0' },
    schema: { type: 'string', default: 'mixed' },
    truth: { type: 'string' },
    topic: { type: 'string', default: process.env.TOPIC_INPUT ?? DEFAULT_TOPICS.input },
  },
});

function flag(name: string, raw: string | undefined, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new Error(`--${name} must be from ${min} to ${max}, got "${raw}"`);
  return value;
}

async function main(): Promise<void> {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers)
    throw new Error(
      'set KAFKA_BROKERS to the brokers to publish to (npm start prints them when it starts its own)',
    );
  const schema = values.schema;
  if (schema !== 'v1' && schema !== 'v2' && schema !== 'mixed')
    throw new Error(`--schema must be v1, v2 or mixed, got "${schema}"`);
  const events = flag('events', values.events, 1, 100_000_000);
  const bar = (produced: number) => {
    const width = 30;
    const done = Math.round((produced / events) * width);
    process.stderr.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${produced}/${events}`);
  };
  const result = await simulate({
    brokers: brokers.split(','),
    topic: values.topic,
    devices: flag('devices', values.devices, 1, 1_000_000),
    rate: flag('rate', values.rate, 0, 10_000_000),
    events,
    badRatio: flag('bad-ratio', values['bad-ratio'], 0, 1),
    schema,
    idempotent: process.env.KAFKA_IDEMPOTENT === 'true',
    onProgress: bar,
  });
  process.stderr.write('\n');
  if (values.truth) writeFileSync(values.truth, `${JSON.stringify(result.truth, null, 2)}\n`);
  process.stdout.write(
    `${JSON.stringify({ produced: result.produced, bad: result.bad, truth: values.truth ?? null })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`simulate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
