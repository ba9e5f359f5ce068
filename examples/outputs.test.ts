import { mskEvent, reading, startTestbed, type Testbed } from 'surge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Asserting outputs: what the handler publishes, as a consumer of Surge's topics reads it. */
describe('the outputs of a batch delivered twice', () => {
  let bed: Testbed;
  beforeAll(async () => {
    bed = await startTestbed({ env: { ALERT_TEMPERATURE_THRESHOLD: '50' } });
    const batch = mskEvent(
      [reading({ deviceId: 'oven-1', temperature: 60 }), reading({ deviceId: 'oven-2' }), null],
      { partition: 2, startOffset: 40 },
    );
    await bed.analytics(batch);
    await bed.analytics(batch); // a redelivery, as after a timeout
  });
  afterAll(() => bed.close());

  it('publishes a summary per device, keyed by device id, with an id that repeats on redelivery', async () => {
    const summaries = await bed.summaries();
    expect(new Set(summaries.map((s) => s.value.id))).toEqual(new Set(['oven-1@1', 'oven-2@1']));
    expect(summaries.find((s) => s.key === 'oven-1')?.value).toMatchObject({ deviceId: 'oven-1', count: 1 });
  });

  it('alerts on a reading above the threshold the environment sets', async () => {
    const alerts = await bed.alerts();
    expect(new Set(alerts.map((a) => a.value.id))).toEqual(new Set(['iot-data-2@40']));
    expect(alerts[0]?.value).toMatchObject({
      deviceId: 'oven-1',
      reasons: ['HIGH_TEMPERATURE'],
      temperatureThreshold: 50,
    });
  });

  it('sends a record it cannot use to the dead-letter topic, with where it came from and why', async () => {
    const [letter] = await bed.deadLetters();
    expect(letter?.value).toBeNull();
    expect(letter?.headers).toMatchObject({
      'x-reason': 'NULL_VALUE',
      'x-source-topic': 'iot-data',
      'x-source-partition': '2',
      'x-source-offset': '42',
    });
  });
});
