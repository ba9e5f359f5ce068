import { encodeReading, mskEvent, reading, startTestbed, type Testbed } from 'surge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Asserting aggregates: a device's state, its minute windows, the fleet totals and the query API. */
describe('the aggregates of a few readings', () => {
  let bed: Testbed;
  const minute = Date.UTC(2026, 0, 1, 12, 0);
  beforeAll(async () => {
    bed = await startTestbed();
    await bed.analytics(
      mskEvent([
        reading({ deviceId: 'fan-1', ts: minute + 1_000, temperature: 20 }),
        reading({ deviceId: 'fan-1', ts: minute + 2_000, temperature: 30, status: 'WARN' }),
        reading({ deviceId: 'fan-1', ts: minute + 61_000, temperature: 25 }),
        // A device on the older schema: it has no firmware, which arrives as "unknown".
        { value: reading({ deviceId: 'fan-2', ts: minute, firmware: '0.9' }), encoding: 'avro-v1' },
        // A reading whose temperature is out of range is quarantined, not aggregated.
        reading({ deviceId: 'fan-1', ts: minute + 3_000, temperature: 999 }),
      ]),
    );
  });
  afterAll(() => bed.close());

  it('keeps each device exactly its valid readings', async () => {
    expect(await bed.device('fan-1')).toMatchObject({
      count: 3,
      temperature: { min: 20, max: 30, mean: 25 },
      status: { OK: 2, WARN: 1, FAIL: 0 },
      last: { ts: minute + 61_000, temperature: 25 },
    });
    expect((await bed.device('fan-2'))?.last.firmware).toBe('unknown');
    expect(await bed.device('never-seen')).toBeUndefined();
  });

  it('folds readings into minute windows', async () => {
    expect(await bed.windows('fan-1')).toEqual([
      { start: minute, count: 2, temperature: { min: 20, max: 30, mean: 25 } },
      { start: minute + 60_000, count: 1, temperature: { min: 25, max: 25, mean: 25 } },
    ]);
  });

  it('counts the fleet: devices, records applied, and quarantined by reason', async () => {
    expect(await bed.stats()).toMatchObject({ devices: 2, records: 4, quarantined: { INVALID: 1 } });
  });

  it('answers the query API as a client sees it', async () => {
    const response = await bed.query(
      `GET /devices/fan-1/windows?from=${minute + 60_000}&to=${minute + 60_000}`,
    );
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({ windows: [{ start: minute + 60_000, count: 1 }] });
    expect((await bed.query('GET /devices/never-seen')).statusCode).toBe(404);
  });

  it('encodes readings as devices send them, Avro or JSON', () => {
    expect(encodeReading(reading())[0]).toBe(0); // the Confluent wire format's magic byte
    expect(JSON.parse(encodeReading(reading({ deviceId: 'j' }), 'json').toString()).deviceId).toBe('j');
  });
});
