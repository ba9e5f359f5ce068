import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MsgpackError, pack, unpack } from '../../../../functions/shared/redis/msgpack';
import { type LocalRedis, startRedis } from '../../../../local/redis/redis-server';

const samples = [
  0,
  127,
  128,
  -1,
  -32,
  -33,
  65_535,
  2 ** 40,
  -(2 ** 40),
  2 ** 32 - 1,
  2 ** 32,
  -(2 ** 31) - 1,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  1_795_565_435_194,
  21.5,
  0.1 + 0.2,
  -99.99999999999999,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  'iot-data-0',
  'x'.repeat(40),
  'é'.repeat(200),
  'y'.repeat(70_000),
  null,
  true,
  false,
  [],
  [1, [2, [3, 'four']]],
  Array.from({ length: 20 }, (_, i) => i * 1.1),
  { 'iot-data-0': 17, 'iot-data-1': 2 ** 45 },
];

describe('msgpack', () => {
  it.each(samples.map((s) => [JSON.stringify(s).slice(0, 40), s]))(
    'round-trips %s exactly',
    (_name, value) => {
      expect(unpack(pack(value as never))).toEqual(value);
    },
  );

  it('rejects truncated input and trailing bytes', () => {
    expect(() => unpack(pack([1.5, 'abc']).subarray(0, 5))).toThrow(MsgpackError);
    expect(() => unpack(Buffer.concat([pack(1), Buffer.from([1])]))).toThrow(/1 bytes after/);
    expect(() => unpack(Buffer.from([0xc1]))).toThrow(/unsupported MessagePack type 0xc1/);
  });
});

describe('msgpack through Redis Lua cmsgpack', () => {
  let local: LocalRedis;
  let redis: Redis;

  beforeAll(async () => {
    local = await startRedis();
    redis = new Redis(local.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await local?.stop();
  });

  it('keeps doubles, large integers and nested tables exact through unpack and pack in Lua', async () => {
    const value = [
      0.1 + 0.2,
      1_795_565_435_194,
      -12.345678901234567,
      21.5,
      [48.01, 2.01],
      'OK',
      { 'iot-data-3': 9 },
    ];
    const echoed = (await redis.callBuffer(
      'eval',
      'return cmsgpack.pack(cmsgpack.unpack(ARGV[1]))',
      0,
      pack(value),
    )) as Buffer;
    expect(unpack(echoed)).toEqual(value);
    const summed = (await redis.callBuffer(
      'eval',
      'local t = cmsgpack.unpack(ARGV[1]) return cmsgpack.pack({t[1] + t[2]})',
      0,
      pack([0.1, 0.2]),
    )) as Buffer;
    expect(unpack(summed)).toEqual([0.1 + 0.2]);
  });
});
