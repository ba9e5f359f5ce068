/**
 * npm run rebuild: re-reads topic-partitions through the analytics processor into the store, with
 * the analytics function's environment (locally: REDIS_URL and KAFKA_BROKERS; against a deployed
 * stage: the function's variables, KAFKA_AUTH=aws-iam, from inside the VPC).
 *
 *   npm run rebuild -- [--topic iot-data] [--partition N ...] [--from store|OFFSET] [--to OFFSET]
 *                      [--batch-size 1000] [--publish] [--accept-gap] [--accept-loss]
 *
 * Prints one JSON line per partition: {topicPartition, from, to, records, applied, duplicates, quarantined}.
 */
import '../local/quiet-powertools';
import { parseArgs } from 'node:util';
import { rebuild } from './rebuild';
import { toolsContext } from './tools-context';

const { values } = parseArgs({
  options: {
    topic: { type: 'string' },
    partition: { type: 'string', multiple: true },
    from: { type: 'string', default: 'store' },
    to: { type: 'string' },
    'batch-size': { type: 'string', default: '1000' },
    publish: { type: 'boolean', default: false },
    'accept-gap': { type: 'boolean', default: false },
    'accept-loss': { type: 'boolean', default: false },
  },
});

function offset(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`--${name} must be an offset (a whole number), got "${raw}"`);
  return value;
}

async function main(): Promise<void> {
  const context = await toolsContext(process.env, {
    publish: values.publish,
    acceptGap: values['accept-gap'],
  });
  try {
    const results = await rebuild(
      {
        topic: values.topic ?? context.config.topics.input,
        ...(values.partition ? { partitions: values.partition.map((p) => offset('partition', p)) } : {}),
        from: values.from === 'store' ? 'store' : offset('from', values.from ?? ''),
        ...(values.to === undefined ? {} : { to: offset('to', values.to) }),
        batchSize: offset('batch-size', values['batch-size'] ?? '1000'),
        acceptLoss: values['accept-loss'],
      },
      context,
    );
    for (const result of results) console.log(JSON.stringify(result));
  } finally {
    await context.close();
  }
}

main().catch((error: unknown) => {
  console.error(`rebuild failed: ${(error as Error).message}`);
  process.exit(1);
});
