import { mskEvent, reading, startTestbed, type Testbed } from 'surge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Injecting a fault: the handler rejects the batch (so that the event source mapping delivers it
 * again), and the redelivery applies it exactly once.
 */
describe('a batch that meets a failure', () => {
  let bed: Testbed;
  beforeAll(async () => {
    bed = await startTestbed();
  });
  afterAll(() => bed.close());

  it('is refused while Redis is down, and applied once when it is delivered again', async () => {
    const batch = mskEvent([reading({ deviceId: 'valve-1', temperature: 30 })], { startOffset: 0 });
    await bed.faults.redisDown();
    await expect(bed.analytics(batch)).rejects.toThrow(/Redis/);
    await bed.faults.redisUp();

    await bed.analytics(batch);
    await bed.analytics(batch); // a second redelivery changes nothing
    expect((await bed.device('valve-1'))?.count).toBe(1);
  });

  it('is refused when the brokers are unreachable, and applied once on the retry', async () => {
    const batch = mskEvent([reading({ deviceId: 'valve-2', temperature: 99 })], { startOffset: 1 });
    await bed.faults.brokersDown();
    await expect(bed.analytics(batch)).rejects.toThrow(/Kafka/);
    await bed.faults.brokersUp();

    await bed.analytics(batch);
    expect((await bed.device('valve-2'))?.count).toBe(1);
    // At least once: the refused attempt's alert may be there too, always with the same id.
    const ids = new Set((await bed.alerts()).map((alert) => alert.value.id));
    expect([...ids]).toEqual(['iot-data-0@1']);
  });
});
