/**
 * Surge's partitioner (functions/shared/kafka/partitioner.ts) against kafkajs's own
 * `Partitioners.DefaultPartitioner`, which it replaces: the time to partition a batch's summaries
 * (10,000 device-id keys over 6 partitions), median of 30 rounds, and whether the two agree on
 * every key. The result is written beside the partitioner.
 *
 *   npx tsx bench/partitioner.ts
 */
import { Partitioners } from 'kafkajs';
import { javaCompatiblePartitioner } from '../functions/shared/kafka/partitioner';
import { summarize } from './stats';

const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({
  partitionId,
  leader: partitionId % 3,
  replicas: [0],
  isr: [0],
  partitionErrorCode: 0,
}));
const messages = Array.from({ length: 10_000 }, (_, i) => ({
  key: `device-${String(i).padStart(5, '0')}`,
  value: null,
}));

function time(
  partition: (args: {
    topic: string;
    partitionMetadata: typeof partitionMetadata;
    message: (typeof messages)[number];
  }) => number,
) {
  const durations: number[] = [];
  for (let round = 0; round < 40; round++) {
    const start = performance.now();
    for (const message of messages) partition({ topic: 'processed-data', partitionMetadata, message });
    if (round >= 10) durations.push(performance.now() - start);
  }
  return summarize(durations).median;
}

const surge = javaCompatiblePartitioner();
const kafkajs = Partitioners.DefaultPartitioner();
const disagreements = messages.filter(
  (message) =>
    surge({ topic: 't', partitionMetadata, message }) !== kafkajs({ topic: 't', partitionMetadata, message }),
).length;
console.log(
  JSON.stringify({
    keys: messages.length,
    surgeMs: Number(time(surge).toFixed(3)),
    kafkajsMs: Number(time(kafkajs).toFixed(3)),
    disagreements,
  }),
);
