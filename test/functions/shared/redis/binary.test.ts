import { describe, expect, it } from 'vitest';
import { BinaryFormatError, BinaryReader, BinaryWriter } from '../../../../functions/shared/redis/binary';

describe('binary records', () => {
  it('round-trips bytes, 16-bit lengths, doubles, UTF-8 strings and length-prefixed parts big-endian, as Lua struct reads them', () => {
    const writer = new BinaryWriter()
      .u8(7)
      .u16(65_535)
      .f64(0.1 + 0.2)
      .f64(-1_795_565_435_194)
      .string('iot-data-0 é');
    const at = writer.beginSized();
    const written = writer.u8(1).f64(3.5).endSized(at).take();
    expect(written.subarray(0, 3)).toEqual(Buffer.from([7, 0xff, 0xff]));
    const reader = new BinaryReader(written);
    expect([reader.u8(), reader.u16(), reader.f64(), reader.f64(), reader.string()]).toEqual([
      7,
      65_535,
      0.1 + 0.2,
      -1_795_565_435_194,
      'iot-data-0 é',
    ]);
    const embedded = new BinaryReader(reader.bytes());
    expect([embedded.u8(), embedded.f64(), embedded.done]).toEqual([1, 3.5, true]);
    expect(reader.done).toBe(true);
  });

  it('leaves nothing of a write that threw behind once reset', () => {
    const writer = new BinaryWriter();
    writer.u8(9);
    const at = writer.beginSized();
    expect(() => writer.string('a'.repeat(40_000)).string('b'.repeat(40_000)).endSized(at)).toThrow(
      RangeError,
    );
    writer.reset();
    expect(writer.u8(1).take()).toEqual(Buffer.from([1]));
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
    const sized = new BinaryWriter();
    const at = sized.beginSized();
    expect(() => sized.string('x'.repeat(60_000)).string('y'.repeat(6_000)).endSized(at)).toThrow(
      /do not fit a 16-bit length/,
    );
    expect(() => new BinaryWriter().string('x'.repeat(70_000))).toThrow(/does not fit 16 bits/);
    expect(() => new BinaryReader(Buffer.from([0, 5, 1])).bytes()).toThrow(BinaryFormatError);
    expect(() => new BinaryReader(Buffer.alloc(7)).f64()).toThrow(/truncated record at byte 0/);
  });
});
