import { spawnSync } from 'node:child_process';
import { CompressionCodecs, CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressionType, registerKafkaCodecs } from '../../../functions/shared/kafka/codecs';
import { KafkaPublisher } from '../../../functions/shared/kafka/publisher';
import { parseMskEvent } from '../../../functions/shared/msk/event';
import { type MockKafka, startMockKafka } from '../../../local/kafka/mock-cluster';
import { ensureSystemPackages } from '../../../local/system-deps';
import { type EmulatorHarness, emulatorHarness } from '../../support/emulator-harness';

let kafka: MockKafka;
let h: EmulatorHarness;

beforeAll(async () => {
  ensureSystemPackages(['kcat']);
  kafka = await startMockKafka({ brokers: 1 });
  h = emulatorHarness(kafka);
});

afterAll(async () => {
  await kafka?.stop();
});

/** Produces `key:value` lines with kcat (librdkafka), compressed with `codec`. */
function kcat(topic: string, codec: string, lines: readonly string[]): void {
  const result = spawnSync(
    'kcat',
    [
      '-P',
      '-b',
      kafka.bootstrapServers,
      '-t',
      topic,
      '-p',
      '0',
      '-z',
      codec,
      '-K',
      ':',
      '-X',
      'linger.ms=50',
    ],
    { input: `${lines.join('\n')}\n`, encoding: 'utf8', timeout: 30_000 },
  );
  expect(result.status, result.stderr).toBe(0);
}

const lines = Array.from({ length: 50 }, (_, i) => `device-${i}:reading ${i} ${'x'.repeat(i)}`);

describe('records of every codec a producer may choose', () => {
  it.each(['gzip', 'snappy', 'lz4', 'zstd'])(
    'delivers a %s batch produced by kcat, decompressed',
    async (codec) => {
      const topic = await h.newTopic(1);
      kcat(topic, codec, lines);
      const { events } = await h.run(
        topic,
        { batchingWindowMs: 300 },
        (r) => r.emulator.stats.committed === 50,
      );
      const records = events.flatMap((e) => parseMskEvent(e));
      expect(records.map((r) => `${r.key?.toString()}:${r.value?.toString()}`)).toEqual(lines);
    },
  );

  it('stops with the cause, instead of stalling, when a batch cannot be read', async () => {
    const topic = await h.newTopic(1);
    kcat(topic, 'zstd', lines);
    registerKafkaCodecs();
    const zstd = CompressionCodecs[CompressionTypes.ZSTD];
    // As before this change: kafkajs without a zstd codec.
    delete (CompressionCodecs as Record<number, unknown>)[CompressionTypes.ZSTD];
    try {
      const { EventSourceEmulator } = await import('../../../local/event-source/emulator');
      let fatal: Error | undefined;
      const emulator = new EventSourceEmulator(
        h.options(topic, {
          maxConcurrency: 1,
          retryAttempts: 0,
          onFatal: (error) => {
            fatal = error;
          },
        }),
      );
      await emulator.start();
      const deadline = Date.now() + 20_000;
      while (fatal === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await emulator.stop();
      // kafkajs reads the zstd bytes as records and fails; the emulator says so instead of restarting forever.
      expect(fatal).toBeInstanceOf(Error);
      expect(fatal?.message.length).toBeGreaterThan(0);
      expect(emulator.failure).toBe(fatal);
    } finally {
      CompressionCodecs[CompressionTypes.ZSTD] = zstd;
    }
  });
});

describe("Surge's own publisher", () => {
  it.each(['snappy', 'lz4'] as const)('writes %s batches that a consumer reads back', async (codec) => {
    const topic = await h.newTopic(1);
    const producer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer({
      idempotent: false,
    });
    await new KafkaPublisher(producer, compressionType(codec)).publish(
      lines.map((line) => ({ topic, key: line.split(':')[0] ?? null, value: Buffer.from(line) })),
    );
    await producer.disconnect();
    const { events } = await h.run(
      topic,
      { batchingWindowMs: 300 },
      (r) => r.emulator.stats.committed === 50,
    );
    expect(events.flatMap((e) => parseMskEvent(e)).map((r) => r.value?.toString())).toEqual(lines);
  });

  it('writes zstd where Node.js has it, and refuses it at cold start, naming the version, where not', async () => {
    const zlib = process.getBuiltinModule('node:zlib') as unknown as { zstdCompressSync?: unknown };
    if (zlib.zstdCompressSync === undefined) {
      expect(() => compressionType('zstd')).toThrow(/KAFKA_COMPRESSION=zstd needs Node\.js 22\.15 or later/);
      return;
    }
    const topic = await h.newTopic(1);
    const producer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer({
      idempotent: false,
    });
    await new KafkaPublisher(producer, compressionType('zstd')).publish([
      { topic, key: 'k', value: Buffer.from('v') },
    ]);
    await producer.disconnect();
    const { events } = await h.run(topic, {}, (r) => r.emulator.stats.committed === 1);
    expect(parseMskEvent(events[0])[0]?.value?.toString()).toBe('v');
  });
});
