import { describe, expect, it } from 'vitest';
import { createBatchProcessor } from '../../../functions/analytics/processor';
import { DEFAULT_TOPICS } from '../../../functions/shared/config';
import { KafkaError } from '../../../functions/shared/errors';
import type { Publisher } from '../../../functions/shared/kafka/publisher';
import { parseMskEvent } from '../../../functions/shared/msk/event';
import type { PartitionOrigins } from '../../../functions/shared/partition-origins';
import type { AnalyticsStore } from '../../../functions/shared/redis/analytics-store';
import { buildMskEvent } from '../../../local/msk-event';
import { registry, telemetry, telemetryRecord } from '../../support/records';

describe('the batch processor, asking where a partition begins', () => {
  const config = { topics: DEFAULT_TOPICS, alertTemperatureThreshold: 80 };
  const unseenStore = (applied: unknown[]): AnalyticsStore => ({
    async watermarks(tps) {
      return new Map(tps.map((tp) => [tp, -1]));
    },
    async apply(plan) {
      applied.push(plan);
      return { devices: [], partitions: [] };
    },
    async confirmDurable() {},
  });
  const publisher: Publisher = { publish: async () => undefined };
  const batch = () =>
    parseMskEvent(buildMskEvent([telemetryRecord(telemetry({ deviceId: 'd' }), { offset: 3 })]));

  it('fails the batch with the Kafka error, applying nothing, when the brokers cannot say', async () => {
    const applied: unknown[] = [];
    const origins: PartitionOrigins = {
      earliest: () => Promise.reject(new KafkaError('cannot read where iot-data begin: broker down')),
    };
    const process = createBatchProcessor({
      store: unseenStore(applied),
      publisher,
      registry,
      config,
      origins,
    });
    await expect(process(batch())).rejects.toThrow(KafkaError);
    expect(applied).toEqual([]);
  });

  it("asks only for the partitions the store has nothing of, with the batch's first offset of each, and not at all with the check off", async () => {
    const asked: string[][] = [];
    const origins: PartitionOrigins = {
      async earliest(refs) {
        asked.push(refs.map((r) => `${r.topic}-${r.partition}@${r.firstOffset}`));
        return new Map(refs.map((r) => [`${r.topic}-${r.partition}`, 3]));
      },
    };
    const applied: unknown[] = [];
    await createBatchProcessor({ store: unseenStore(applied), publisher, registry, config, origins })(
      batch(),
    );
    expect(asked).toEqual([['iot-data-0@3']]);
    expect(applied).toHaveLength(1);

    const off = { ...config, watermarkGapTolerance: -1 };
    await createBatchProcessor({ store: unseenStore(applied), publisher, registry, config: off, origins })(
      batch(),
    );
    expect(asked).toHaveLength(1);
  });
});
