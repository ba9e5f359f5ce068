import net from 'node:net';
import { type ISocketFactory, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPICS, DEFAULTS, type KafkaSettings } from '../../../../functions/shared/config';
import { KafkaPublisher, kafkaClientConfig } from '../../../../functions/shared/kafka/publisher';
import {
  brokerConnectionRate,
  kafkaProducerRetry,
  loadStageConfig,
  producerContainers,
} from '../../../../lib/config/stage-config';
import { type Infrastructure, startInfrastructure } from '../../../support/infrastructure';

let infra: Infrastructure;

beforeAll(async () => {
  infra = await startInfrastructure();
});

afterAll(async () => {
  await infra?.stop();
});

/**
 * Connections as an MSK broker with IAM auth admits them: at most `perSecond` new ones per broker
 * address in any second, the rest refused. Everything past the socket is the real broker.
 */
function connectionRateLimit(perSecond: number): { socketFactory: ISocketFactory; refused: () => number } {
  const accepted = new Map<string, number[]>();
  let refused = 0;
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const address = `${host}:${port}`;
    const now = Date.now();
    const recent = (accepted.get(address) ?? []).filter((t) => now - t < 1_000);
    if (recent.length >= perSecond) {
      refused++;
      const socket = new net.Socket();
      setImmediate(() =>
        socket.destroy(
          Object.assign(new Error(`connection rate exceeded on ${address}`), { code: 'ECONNREFUSED' }),
        ),
      );
      return socket;
    }
    recent.push(now);
    accepted.set(address, recent);
    const socket = net.connect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    return socket;
  };
  return { socketFactory, refused: () => refused };
}

/** `containers` cold starts at once, each publishing one summary through its own producer. */
async function coldStartsTogether(
  containers: number,
  retry: KafkaSettings['retry'],
  perSecond: number,
): Promise<{ failed: number; refused: number }> {
  const limit = connectionRateLimit(perSecond);
  const settings: KafkaSettings = {
    clientId: 'cold-start',
    auth: 'none',
    idempotent: false,
    compression: 'none',
    maxMessageBytes: 1_048_576,
    retry,
  };
  const results = await Promise.allSettled(
    Array.from({ length: containers }, async (_, i) => {
      const kafka = new Kafka({
        ...kafkaClientConfig(settings, infra.kafka.brokers),
        socketFactory: limit.socketFactory,
        logLevel: logLevel.NOTHING,
      });
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      try {
        await new KafkaPublisher(producer, 0).publish([
          { topic: DEFAULT_TOPICS.summaries, key: `device-${i}`, value: Buffer.from('{}') },
        ]);
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    }),
  );
  return { failed: results.filter((r) => r.status === 'rejected').length, refused: limit.refused() };
}

describe('producer connections against a broker that admits few per second (kafka.t3.small)', () => {
  const dev = loadStageConfig('dev');
  const rate = brokerConnectionRate(dev.kafka.brokerInstanceType);

  it('gets every container of a simultaneous cold start through with the stage schedule', async () => {
    const outcome = await coldStartsTogether(producerContainers(dev), kafkaProducerRetry(dev), rate);
    expect(outcome.refused).toBeGreaterThan(0);
    expect(outcome.failed).toBe(0);
  }, 60_000);

  it('fails batches with the short schedule of a broker that admits many (why the stage schedule exists)', async () => {
    const outcome = await coldStartsTogether(producerContainers(dev), DEFAULTS.kafkaRetry, rate);
    expect(outcome.failed).toBeGreaterThan(0);
  }, 60_000);
});
