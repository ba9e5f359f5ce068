import { spawnSync } from 'node:child_process';
import { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPICS, type KafkaSettings } from '../../../../functions/shared/config';
import { KafkaPublisher, kafkaClientConfig } from '../../../../functions/shared/kafka/publisher';
import { PROJECT_ROOT } from '../../../../lib/constructs/surge-function';
import {
  type Infrastructure,
  readTopic,
  startInfrastructure,
  topicEnd,
} from '../../../support/infrastructure';

let infra: Infrastructure;

beforeAll(async () => {
  infra = await startInfrastructure();
});

afterAll(async () => {
  await infra?.stop();
});

/** A publisher over a producer whose requests to the broker are recorded by API name. */
const settings: KafkaSettings = {
  clientId: 'publisher-test',
  auth: 'none',
  idempotent: false,
  compression: 'none',
  maxMessageBytes: 1_048_576,
};

function recordingPublisher(): { publisher: KafkaPublisher; requests: string[] } {
  const producer = new Kafka(kafkaClientConfig(settings, infra.kafka.brokers)).producer({
    allowAutoTopicCreation: false,
  });
  const requests: string[] = [];
  producer.on(producer.events.REQUEST, ({ payload }) => requests.push(payload.apiName));
  return { publisher: new KafkaPublisher(producer, 0), requests };
}

describe('KafkaPublisher', () => {
  it('loads the output topics while warming up, so that the first publish sends only Produce requests', async () => {
    const { publisher, requests } = recordingPublisher();
    try {
      await publisher.warmUp([DEFAULT_TOPICS.summaries, DEFAULT_TOPICS.alerts]);
      expect(requests).toContain('Metadata');
      expect(requests).not.toContain('Produce');
      requests.length = 0;
      const from = await topicEnd(infra.kafka.bootstrapServers, DEFAULT_TOPICS.summaries);
      await publisher.publish([
        { topic: DEFAULT_TOPICS.summaries, key: 'sensor-1', value: Buffer.from('a') },
        { topic: DEFAULT_TOPICS.alerts, key: 'sensor-1', value: Buffer.from('b') },
      ]);
      expect(requests).toContain('Produce');
      expect(requests).not.toContain('Metadata');
      const written = await readTopic(infra.kafka.bootstrapServers, DEFAULT_TOPICS.summaries, from);
      expect(written.map((m) => m.value?.toString())).toEqual(['a']);
    } finally {
      await publisher.disconnect();
    }
  });

  it('without warm-up topics, loads a topic on its first publish', async () => {
    const { publisher, requests } = recordingPublisher();
    try {
      await publisher.warmUp();
      requests.length = 0;
      await publisher.publish([{ topic: DEFAULT_TOPICS.deadLetter, key: null, value: Buffer.from('c') }]);
      expect(requests).toEqual(expect.arrayContaining(['Metadata', 'Produce']));
    } finally {
      await publisher.disconnect();
    }
  });

  it('resolves its warm-up when the broker is unreachable, and the publish reports the failure', async () => {
    const publisher = KafkaPublisher.create(settings, ['127.0.0.1:1']);
    await expect(publisher.warmUp([DEFAULT_TOPICS.summaries])).resolves.toBeUndefined();
    await expect(
      publisher.publish([{ topic: DEFAULT_TOPICS.summaries, key: 'k', value: Buffer.from('v') }]),
    ).rejects.toThrow(/Kafka did not accept 1 messages/);
  });
});

describe('KAFKA_LEAN_ENCODER', () => {
  const installed = (env: Record<string, string>) => {
    // A process of its own: the encoder, once installed, is process-wide.
    const script = `
      import { loadKafkaSettings } from './functions/shared/config.ts';
      import { KafkaPublisher } from './functions/shared/kafka/publisher.ts';
      import { isLeanProduceEncodingInstalled } from './functions/shared/kafka/lean-produce.ts';
      KafkaPublisher.create(loadKafkaSettings(process.env), ['127.0.0.1:1']);
      console.log(isLeanProduceEncodingInstalled());`;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    expect(result.status, result.stderr).toBe(0);
    return result.stdout.trim();
  };

  it("installs Surge's encoder by default, and leaves kafkajs's own in place when false", () => {
    expect(installed({})).toBe('true');
    expect(installed({ KAFKA_LEAN_ENCODER: 'false' })).toBe('false');
  });
});
