import { describe, expect, it } from 'vitest';
import { BinaryFormatError, BinaryReader, BinaryWriter } from '../../../../functions/shared/redis/binary';
import { pack, unpack } from '../../../../functions/shared/redis/msgpack';

describe('binary records', () => {
  it('round-trips bytes, 16-bit lengths, doubles, UTF-8 strings and embedded MessagePack big-endian, as Lua struct reads them', () => {
    const written = new BinaryWriter()
      .u8(7)
      .u16(65_535)
      .f64(0.1 + 0.2)
      .f64(-1_795_565_435_194)
      .string('iot-data-0 é')
      .packed([1, 'two', [3.5]])
      .take();
    expect(written.subarray(0, 3)).toEqual(Buffer.from([7, 0xff, 0xff]));
    const reader = new BinaryReader(written);
    expect([reader.u8(), reader.u16(), reader.f64(), reader.f64(), reader.string()]).toEqual([
      7,
      65_535,
      0.1 + 0.2,
      -1_795_565_435_194,
      'iot-data-0 é',
    ]);
    const embedded = reader.bytes();
    expect(embedded).toEqual(pack([1, 'two', [3.5]]));
    expect(unpack(embedded)).toEqual([1, 'two', [3.5]]);
    expect(reader.done).toBe(true);
  });

  it('grows past its first buffer and starts afresh after take()', () => {
    const writer = new BinaryWriter();
    const big = writer.string('x'.repeat(10_000)).take();
    const small = writer.u8(1).take();
    expect(big.length).toBe(10_002);
    expect(small).toEqual(Buffer.from([1]));
  });

  it('refuses a length that does not fit 16 bits and a truncated record', () => {
    expect(() => new BinaryWriter().u16(65_536)).toThrow(RangeError);
    expect(() => new BinaryWriter().packed('x'.repeat(70_000))).toThrow(/do not fit a 16-bit length/);
    expect(() => new BinaryReader(Buffer.from([0, 5, 1])).bytes()).toThrow(BinaryFormatError);
    expect(() => new BinaryReader(Buffer.alloc(7)).f64()).toThrow(/truncated record at byte 0/);
  });
});
