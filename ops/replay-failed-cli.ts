/**
 * npm run replay-failed: puts the records of the failure topic (iot-data-failed: batches the event
 * source mapping gave up on) through the analytics processor again, with the analytics function's
 * environment (as `npm run rebuild`).
 *
 *   npm run replay-failed -- [--topic iot-data-failed] [--batch-size 1000] [--publish] [--accept-gap]
 *   npm run replay-failed -- --from-file failed-batches.jsonl [...]
 *
 * --from-file reads the metadata documents of an SQS (or SNS) failure destination, one JSON
 * document per line (the local runtime writes .surge/failed-batches.jsonl; from a queue:
 * `aws sqs receive-message ... --query 'Messages[].Body' --output text`), and reads the records they
 * name again from the source topic.
 *
 * Prints one JSON line: {documents, unreadable, partitions: [{topicPartition, from, to, records, applied, duplicates, quarantined}]}.
 */
import '../local/quiet-powertools';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { replayFailed, replayFailedRanges } from './replay-failed';
import { toolsContext } from './tools-context';

const { values } = parseArgs({
  options: {
    topic: { type: 'string' },
    'from-file': { type: 'string' },
    'batch-size': { type: 'string', default: '1000' },
    publish: { type: 'boolean', default: false },
    'accept-gap': { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const batchSize = Number(values['batch-size']);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new Error(`--batch-size must be a whole number of at least 1, got "${values['batch-size']}"`);
  }
  const context = await toolsContext(process.env, {
    publish: values.publish,
    acceptGap: values['accept-gap'],
  });
  try {
    const file = values['from-file'];
    const outcome =
      file === undefined
        ? await replayFailed({ topic: values.topic ?? context.config.topics.failed, batchSize }, context)
        : await replayFailedRanges(
            {
              documents: readFileSync(file, 'utf8')
                .split('\n')
                .filter((line) => line.trim() !== ''),
              batchSize,
            },
            context,
          );
    console.log(JSON.stringify(outcome));
    if (outcome.unreadable.length > 0) process.exitCode = 2;
  } finally {
    await context.close();
  }
}

main().catch((error: unknown) => {
  console.error(`replay-failed failed: ${(error as Error).message}`);
  process.exit(1);
});
