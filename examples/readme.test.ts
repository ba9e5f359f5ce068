import { mskEvent, reading, startTestbed } from 'surge/testing';
import { expect, it } from 'vitest';

it('aggregates readings, quarantines a bad record with its reason, and alerts on a hot reading', async () => {
  await using bed = await startTestbed();

  await bed.analytics(
    mskEvent([
      reading({ deviceId: 'pump-7', temperature: 20 }),
      reading({ deviceId: 'pump-7', temperature: 95 }),
      Buffer.from('not a reading'),
    ]),
  );

  // The aggregate, as GET /devices/pump-7 returns it.
  const pump = await bed.device('pump-7');
  expect(pump?.count).toBe(2);
  expect(pump?.temperature).toMatchObject({ min: 20, max: 95 });

  // The bad record went to the dead-letter topic, with why.
  const letters = await bed.deadLetters();
  expect(letters.map((letter) => letter.headers['x-reason'])).toEqual(['BAD_MAGIC']);

  // The hot reading raised an alert on the alerts topic.
  const alerts = await bed.alerts();
  expect(alerts.map((alert) => alert.value.reasons)).toEqual([['HIGH_TEMPERATURE']]);
});
