import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnalyticsContainer, createAnalyticsContainer } from '../../../functions/analytics/container';
import { createAnalyticsHandler } from '../../../functions/analytics/handler';
import { KafkaError } from '../../../functions/shared/errors';
import { buildMskEvent, type KafkaRecordInput } from '../../../local/msk-event';
import { type Infrastructure, readTopic, startInfrastructure, topicEnd } from '../../support/infrastructure';
import { framed, telemetry, telemetryRecord } from '../../support/records';

/**
 * A broker that refuses requests over 64 KiB (the mock cluster's limit), standing in for a topic's
 * max.message.bytes: a batch whose outputs add up to far more still succeeds, every message arrives.
 */
const LIMIT = 65_536;
let infra: Infrastructure;
const containers: AnalyticsContainer[] = [];

function handlerWith(env: Record<string, string>) {
  const container = createAnalyticsContainer({ ...infra.env, ...env });
  containers.push(container);
  return createAnalyticsHandler({ container: () => container });
}

beforeAll(async () => {
  infra = await startInfrastructure({ maxRequestBytes: LIMIT });
});

afterAll(async () => {
  await Promise.all(containers.map((c) => c.close()));
  await infra?.stop();
});

/** 600 small bad records and 20 of 40 KB each: about 1 MB of dead letters, plus summaries. */
function largeOutputs(firstOffset: number): KafkaRecordInput[] {
  const records: KafkaRecordInput[] = [];
  let offset = firstOffset;
  for (let i = 0; i < 600; i++)
    records.push({ offset: offset++, key: `bad-${i}`, value: Buffer.from(`{"n":${i}}`) });
  for (let i = 0; i < 20; i++) {
    records.push({
      offset: offset++,
      key: `big-${i}`,
      value: Buffer.concat([framed(telemetry()), Buffer.alloc(40_000)]),
    });
  }
  for (let i = 0; i < 300; i++)
    records.push(telemetryRecord(telemetry({ deviceId: `dev-${i}` }), { offset: offset++ }));
  return records;
}

describe('outputs under the broker message size limit', () => {
  it('fails the batch when produce requests are not cut to the limit (the broker refuses them)', async () => {
    const uncut = handlerWith({ KAFKA_MAX_MESSAGE_BYTES: String(4 * LIMIT) });
    await expect(uncut(buildMskEvent(largeOutputs(0)))).rejects.toThrow(KafkaError);
  });

  it('succeeds when they are, and every dead letter and summary arrives', async () => {
    const cut = handlerWith({ KAFKA_MAX_MESSAGE_BYTES: String(LIMIT) });
    const since = {
      dlq: await topicEnd(infra.kafka.bootstrapServers, 'iot-data-dlq'),
      summaries: await topicEnd(infra.kafka.bootstrapServers, 'processed-data'),
    };
    const records = largeOutputs(920);
    await cut(buildMskEvent(records));
    const letters = await readTopic(infra.kafka.bootstrapServers, 'iot-data-dlq', since.dlq);
    expect(letters).toHaveLength(620);
    expect(new Set(letters.map((l) => l.headers['x-source-offset'])).size).toBe(620);
    expect(letters.filter((l) => (l.value?.length ?? 0) > 40_000)).toHaveLength(20);
    const summaries = await readTopic(infra.kafka.bootstrapServers, 'processed-data', since.summaries);
    expect(new Set(summaries.map((s) => s.key?.toString())).size).toBe(300);
  });
});
