import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deviceDelta, partitionDelta } from '../../../functions/analytics/aggregate';
import { classifyRecord } from '../../../functions/analytics/decode';
import { createQueryHandler } from '../../../functions/query/handler';
import { parseMskEvent } from '../../../functions/shared/msk/event';
import { RedisAnalyticsStore } from '../../../functions/shared/redis/analytics-store';
import { createRedisClient } from '../../../functions/shared/redis/clients';
import { apiGatewayEvent } from '../../../local/api-gateway-event';
import { buildMskEvent } from '../../../local/msk-event';
import { freePort } from '../../../local/ports';
import { type LocalRedis, startRedis } from '../../../local/redis/redis-server';
import { expectAggregatesEqual, expectedDevice, expectedWindows } from '../../support/expected-aggregates';
import { type PlacedReading, registry, telemetry, telemetryRecord } from '../../support/records';

const T0 = Date.UTC(2026, 10, 10, 8, 0, 0);
const readings: PlacedReading[] = [
  {
    reading: telemetry({ deviceId: 'q-1', ts: T0 + 5_000, temperature: 20, status: 'OK' }),
    partition: 0,
    offset: 0,
  },
  {
    reading: telemetry({ deviceId: 'q-1', ts: T0 + 30_000, temperature: 24, status: 'WARN' }),
    partition: 0,
    offset: 1,
  },
  {
    reading: telemetry({ deviceId: 'q-1', ts: T0 + 65_000, temperature: 18, location: null }),
    partition: 0,
    offset: 2,
  },
  {
    reading: telemetry({ deviceId: 'q-1', ts: T0 + 185_000, temperature: 30, status: 'FAIL' }),
    partition: 0,
    offset: 3,
  },
  { reading: telemetry({ deviceId: 'q-2', ts: T0, temperature: 5 }), partition: 0, offset: 4 },
];

let local: LocalRedis;
let redis: Redis;
let handler: ReturnType<typeof createQueryHandler>;

/** Applies readings through the store the analytics processor uses. */
async function seed(ttlSeconds = 3600, batch: readonly PlacedReading[] = readings): Promise<void> {
  const store = new RedisAnalyticsStore(redis, { keyPrefix: 'surge', windowTtlSeconds: ttlSeconds });
  const classified = parseMskEvent(
    buildMskEvent(batch.map((p) => telemetryRecord(p.reading, { offset: p.offset, partition: p.partition }))),
  ).map((record) => classifyRecord(record, registry));
  const accepted = classified.flatMap((c) => (c.accepted ? [c] : []));
  const devices = [...new Set(accepted.map((c) => c.reading.deviceId))].map((id) =>
    deviceDelta(
      id,
      accepted.filter((c) => c.reading.deviceId === id),
    ),
  );
  const partition = partitionDelta('iot-data-0', classified);
  await store.apply({
    devices: devices.flatMap((d) => (d ? [d] : [])),
    partitions: partition ? [partition] : [],
  });
}

async function get(url: string) {
  const response = await handler(apiGatewayEvent('GET', url));
  expect(response.headers?.['content-type']).toBe('application/json');
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

beforeAll(async () => {
  local = await startRedis();
  process.env.REDIS_URL = local.url;
  redis = new Redis(local.url);
  ({ handler } = await import('../../../functions/query/handler'));
});

afterAll(async () => {
  redis?.disconnect();
  await local?.stop();
});

beforeEach(async () => {
  await redis.flushall();
  await seed();
});

const q1 = readings.filter((r) => r.reading.deviceId === 'q-1');

describe('query handler', () => {
  it('answers GET /devices/{deviceId} with the device aggregates', async () => {
    const { status, body } = await get('/devices/q-1');
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(
      [
        'battery',
        'count',
        'deviceId',
        'firstTs',
        'humidity',
        'last',
        'lastTs',
        'status',
        'temperature',
      ].sort(),
    );
    expectAggregatesEqual(body, expectedDevice(q1));
    expect(body.last).toEqual({ ...q1[3]?.reading, deviceId: undefined, ts: T0 + 185_000 });
  });

  it('answers 404 with a message for a device it has never seen', async () => {
    expect(await get('/devices/never-seen')).toEqual({
      status: 404,
      body: { message: 'device never-seen has no data' },
    });
  });

  it.each([
    '/devices/bad%20id',
    `/devices/${'x'.repeat(129)}`,
    '/devices/%E0%A4%A',
    '/devices/a%7Bb%7D/windows',
    '/devices/%7Bq-1%7D',
    `/devices/${'x'.repeat(129)}/windows`,
    `/devices/${'%F0%9F%92%A9'.repeat(40)}`,
  ])('answers 400 for a device id that does not match the pattern: %s', async (path) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body.message).toMatch(/deviceId must match/);
  });

  it('answers the minute windows of a device sorted by start', async () => {
    const { status, body } = await get('/devices/q-1/windows');
    expect(status).toBe(200);
    expect(body.deviceId).toBe('q-1');
    expectAggregatesEqual(body.windows, expectedWindows(q1));
    expect(body.windows.map((w: { start: number }) => w.start)).toEqual([T0, T0 + 60_000, T0 + 180_000]);
  });

  it('keeps windows exact across ten-minute buckets and batches, and filters inside a bucket', async () => {
    const at = (minute: number, second: number) => T0 + minute * 60_000 + second * 1_000;
    const placed = (offset: number, ts: number, temperature: number): PlacedReading => ({
      reading: telemetry({ deviceId: 'q-3', ts, temperature }),
      partition: 1,
      offset,
    });
    // Minutes -1 (previous bucket), 9 and 10 (either side of a bucket edge) and 25, in two batches
    // that both write minute 9 and minute 10.
    const first = [placed(0, at(-1, 59), 10), placed(1, at(9, 0), 11), placed(2, at(10, 0), 12)];
    const second = [placed(3, at(9, 59), 9.5), placed(4, at(10, 30), 14), placed(5, at(25, 1), -3)];
    await seed(3600, first);
    await seed(3600, second);
    const all = [...first, ...second];
    const { body } = await get('/devices/q-3/windows');
    expectAggregatesEqual(body.windows, expectedWindows(all));
    expect(body.windows.map((w: { start: number; count: number }) => [w.start - T0, w.count])).toEqual([
      [-60_000, 1],
      [540_000, 2],
      [600_000, 2],
      [1_500_000, 1],
    ]);
    const inside = await get(`/devices/q-3/windows?from=${at(9, 0)}&to=${at(10, 0)}`);
    expect(inside.body.windows.map((w: { start: number }) => w.start)).toEqual([at(9, 0), at(10, 0)]);
  });

  it("answers the 7 days up to the device's last reading without from and to, and 7 days from a lone from", async () => {
    const latest = await get('/devices/q-1/windows');
    const fromT0 = await get(`/devices/q-1/windows?from=${T0}`);
    const upTo = await get(`/devices/q-1/windows?to=${T0 + 60_000}`);
    expect(latest.body.windows.map((w: { start: number }) => w.start)).toEqual([
      T0,
      T0 + 60_000,
      T0 + 180_000,
    ]);
    expect(fromT0.body).toEqual(latest.body);
    expect(upTo.body.windows.map((w: { start: number }) => w.start)).toEqual([T0, T0 + 60_000]);
    expect(await get(`/devices/q-1/windows?from=${T0 + 7 * 86_400_000 + 1}`)).toEqual({
      status: 200,
      body: { deviceId: 'q-1', windows: [] },
    });
    expect((await get('/devices/never-seen/windows')).status).toBe(404);
  });

  it('limits windows to starts between from and to, inclusive', async () => {
    const { body } = await get(`/devices/q-1/windows?from=${T0 + 60_000}&to=${T0 + 180_000}`);
    expect(body.windows.map((w: { start: number }) => w.start)).toEqual([T0 + 60_000, T0 + 180_000]);
    const none = await get(`/devices/q-1/windows?from=${T0 + 1}&to=${T0 + 59_999}`);
    expect(none.body).toEqual({ deviceId: 'q-1', windows: [] });
  });

  it.each([
    ['from=yesterday', /epoch milliseconds/],
    ['from=-5', /epoch milliseconds/],
    ['from=20&to=10', /from \(20\) is after to \(10\)/],
    [`from=${2 ** 53}`, /epoch milliseconds up to 9007199254740991/],
    ['to=9999999999999999', /epoch milliseconds/],
    ['from=1.5', /epoch milliseconds/],
    ['from=0&to=9007199254740991', /at most 604800000 ms \(7 days\) apart/],
    [`from=0&to=${7 * 86_400_000 + 1}`, /at most 604800000 ms/],
  ])('answers 400 for windows?%s', async (query, message) => {
    const { status, body } = await get(`/devices/q-1/windows?${query}`);
    expect(status).toBe(400);
    expect(body.message).toMatch(message);
  });

  it('drops windows that expired a set time after their last update', async () => {
    await redis.flushall();
    await seed(0.05);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await get('/devices/q-1/windows')).body.windows).toEqual([]);
    expect(await redis.zcard('surge:wbs:{q-1}')).toBe(0);
    expect((await get('/devices/q-1')).body.count).toBe(4);
  });

  it('expires each window a TTL after its own last update, and starts an expired one afresh', async () => {
    await redis.flushall();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const at = (minute: number) => T0 + minute * 60_000 + 1_000;
    const placed = (offset: number, minute: number, temperature: number): PlacedReading => ({
      reading: telemetry({ deviceId: 'q-4', ts: at(minute) + offset, temperature }),
      partition: 2,
      offset,
    });
    // Minutes 1 and 2 share a bucket; the TTL is three seconds. The margins (at least 0.2 s past
    // minute 1's expiry, 1.4 s before minute 2's) hold on a busy machine.
    await seed(3, [placed(0, 1, 10)]);
    await sleep(1_600);
    await seed(3, [placed(1, 2, 20)]);
    await sleep(1_600);
    // Minute 1 was last updated at least 3.2 s ago, minute 2 about 1.6 s ago.
    const { body } = await get('/devices/q-4/windows');
    expect(body.windows.map((w: { start: number; count: number }) => [w.start - T0, w.count])).toEqual([
      [120_000, 1],
    ]);
    await seed(3, [placed(2, 1, 30)]);
    const again = await get('/devices/q-4/windows');
    expect(
      again.body.windows.map((w: { start: number; count: number; temperature: { max: number } }) => [
        w.start - T0,
        w.count,
        w.temperature.max,
      ]),
    ).toEqual([
      [60_000, 1, 30],
      [120_000, 1, 20],
    ]);
  });

  it('answers GET /stats with the fleet totals', async () => {
    expect(await get('/stats')).toEqual({
      status: 200,
      body: {
        devices: 2,
        records: 5,
        quarantined: {
          NULL_VALUE: 0,
          BAD_MAGIC: 0,
          UNKNOWN_SCHEMA: 0,
          DECODE_ERROR: 0,
          INVALID: 0,
          STATE_UNREADABLE: 0,
        },
      },
    });
  });

  it('answers 404 in JSON for an unknown route and 405 for another method', async () => {
    expect(await get('/nothing-here')).toEqual({
      status: 404,
      body: { message: 'no route for /nothing-here' },
    });
    const response = await handler(apiGatewayEvent('DELETE', '/devices/q-1'));
    expect(response.statusCode).toBe(405);
    expect(JSON.parse(response.body)).toEqual({ message: 'DELETE is not allowed; use GET' });
  });

  it('answers 503 in JSON when Redis is unreachable', async () => {
    const port = await freePort();
    const offline = createQueryHandler({
      reader: () =>
        new RedisAnalyticsStore(createRedisClient(`redis://127.0.0.1:${port}`), {
          keyPrefix: 'surge',
          windowTtlSeconds: 60,
        }),
    });
    const response = await offline(apiGatewayEvent('GET', '/stats'));
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body)).toEqual({ message: 'the analytics store is unavailable, try again' });
  });
});
