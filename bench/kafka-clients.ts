/**
 * The migration path off kafkajs, measured: the time to produce one fleet batch's summaries
 * (10,000 messages of 200 bytes, keyed by device id, acks from all replicas, no compression) to
 * the librdkafka mock cluster, with each candidate client. Median of `--rounds` rounds after 3
 * unmeasured ones. docs/architecture.md ("kafkajs: why a patched encoder, and the way off") has
 * the result.
 *
 * The candidates are not Surge's dependencies: install them into a folder of their own and name
 * it (`@platformatic/kafka` 2 needs Node.js 22; 1.35 is the last for Node.js 20;
 * `@confluentinc/kafka-javascript` builds librdkafka from source where its prebuilt binary cannot
 * be downloaded, which needs zlib, OpenSSL, zstd, curl and SASL headers):
 *
 *   mkdir /tmp/kafka-clients && cd /tmp/kafka-clients && npm init -y
 *   npm install @platformatic/kafka@1.35.0
 *   CKJS_LINKING=dynamic npm install --foreground-scripts @confluentinc/kafka-javascript@1.10.1
 *   cd - && npx tsx bench/kafka-clients.ts --clients /tmp/kafka-clients/node_modules
 *
 * Debian 12's librdkafka (2.0.2) has a mock cluster too old for @platformatic/kafka, which needs
 * ApiVersions v3: build local/kafka/mock-cluster.c against the librdkafka the Confluent client
 * built, and name it with --mock-binary:
 *
 *   D=/tmp/kafka-clients/node_modules/@confluentinc/kafka-javascript/build/deps
 *   cc -O2 -o /tmp/mock-cluster local/kafka/mock-cluster.c -I$D/include -L$D -lrdkafka -Wl,-rpath,$D
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { loadKafkaSettings } from '../functions/shared/config';
import { KafkaPublisher } from '../functions/shared/kafka/publisher';
import { startMockKafka } from '../local/kafka/mock-cluster';
import { summarize } from './stats';

const { values } = parseArgs({
  options: {
    clients: { type: 'string' },
    'mock-binary': { type: 'string' },
    rounds: { type: 'string', default: '15' },
    messages: { type: 'string', default: '10000' },
  },
});
const TOPIC = 'processed-data';
const count = Number(values.messages);
const batch = Array.from({ length: count }, (_, i) => ({
  key: `device-${String(i).padStart(5, '0')}`,
  value: Buffer.alloc(200, i % 251),
}));

type Send = () => Promise<unknown>;
interface Candidate {
  readonly name: string;
  start(brokers: string): Promise<{ send: Send; stop: () => Promise<void> }>;
}

const candidates: Candidate[] = [
  {
    // First: the lean encoder, once installed, is process-wide.
    name: 'kafkajs 2.2.4 (its own encoder)',
    async start(brokers) {
      const producer = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING }).producer({
        allowAutoTopicCreation: false,
      });
      await producer.connect();
      return {
        send: () => producer.send({ topic: TOPIC, acks: -1, messages: batch }),
        stop: () => producer.disconnect(),
      };
    },
  },
  {
    name: "kafkajs 2.2.4 through Surge's publisher (lean encoder, murmur2 partitioner)",
    async start(brokers) {
      const settings = loadKafkaSettings({ KAFKA_BROKERS: brokers, KAFKA_IDEMPOTENT: 'false' });
      const publisher = KafkaPublisher.create(settings, [brokers]);
      await publisher.warmUp([TOPIC]);
      const messages = batch.map((m) => ({ topic: TOPIC, ...m }));
      return { send: () => publisher.publish(messages), stop: () => publisher.disconnect() };
    },
  },
];

if (values.clients) {
  const load = createRequire(join(values.clients, 'noop.js'));
  candidates.push(
    {
      name: '@platformatic/kafka',
      async start(brokers) {
        const url = pathToFileURL(load.resolve('@platformatic/kafka')).href;
        const { Producer, stringSerializer, ProduceAcks } = await import(url);
        const producer = new Producer({
          clientId: 'bench',
          bootstrapBrokers: [brokers],
          serializers: { key: stringSerializer },
          autocreateTopics: false,
        });
        const messages = batch.map((m) => ({ topic: TOPIC, key: m.key, value: m.value }));
        return {
          send: () => producer.send({ messages, acks: ProduceAcks.ALL }),
          stop: () => producer.close(),
        };
      },
    },
    {
      name: '@confluentinc/kafka-javascript (librdkafka)',
      async start(brokers) {
        const { KafkaJS } = load('@confluentinc/kafka-javascript');
        const producer = new KafkaJS.Kafka({}).producer({
          'bootstrap.servers': brokers,
          acks: -1,
          log_level: 0,
        });
        await producer.connect();
        return {
          send: () => producer.send({ topic: TOPIC, messages: batch }),
          stop: () => producer.disconnect(),
        };
      },
    },
  );
}

async function main(): Promise<void> {
  const kafka = await startMockKafka({
    topics: [{ name: TOPIC, partitions: 6 }],
    binary: values['mock-binary'],
  });
  const results: Record<
    string,
    { medianMs: number; messagesPerSecond: number; samplesMs: number[] } | { error: string }
  > = {};
  try {
    for (const candidate of candidates) {
      let client: Awaited<ReturnType<Candidate['start']>>;
      const durations: number[] = [];
      try {
        client = await candidate.start(kafka.bootstrapServers);
        for (let round = 0; round < Number(values.rounds) + 3; round++) {
          const start = performance.now();
          await client.send();
          if (round >= 3) durations.push(performance.now() - start);
        }
        await client.stop();
      } catch (error) {
        // A client that cannot talk to this broker is reported, not measured.
        results[candidate.name] = { error: (error as Error).message };
        process.stderr.write(`${candidate.name}: ${(error as Error).message}\n`);
        continue;
      }
      const { median } = summarize(durations);
      results[candidate.name] = {
        medianMs: Number(median.toFixed(1)),
        messagesPerSecond: Math.round((count / median) * 1_000),
        samplesMs: durations.map((d) => Number(d.toFixed(1))),
      };
      process.stderr.write(`${candidate.name}: ${median.toFixed(1)} ms\n`);
    }
  } finally {
    await kafka.stop();
  }
  console.log(JSON.stringify(results, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
