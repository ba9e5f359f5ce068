/**
 * Big-endian binary records, read and written in Lua by Redis's `struct` library: doubles travel
 * as IEEE 754 (exact), fixed fields need no tables in Lua, and a script reads a value with one
 * `struct.unpack` instead of building a table per value.
 */

/**
 * Writes into one buffer that grows as needed. Every length is checked before anything is
 * written, and `reset()` drops whatever a failed write left behind: a writer reused across calls
 * never carries one call's bytes into the next.
 */
export class BinaryWriter {
  private buffer = Buffer.allocUnsafe(4_096);
  private length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  u8(value: number): this {
    if (!(value >= 0 && value <= 0xff)) throw new RangeError(`${value} does not fit 8 bits`);
    this.ensure(1);
    this.buffer[this.length++] = value;
    return this;
  }

  u16(value: number): this {
    if (!(value >= 0 && value <= 0xffff)) throw new RangeError(`${value} does not fit 16 bits`);
    this.ensure(2);
    this.buffer.writeUInt16BE(value, this.length);
    this.length += 2;
    return this;
  }

  f64(value: number): this {
    this.ensure(8);
    this.buffer.writeDoubleBE(value, this.length);
    this.length += 8;
    return this;
  }

  /** A u16 byte length, then the UTF-8 bytes. */
  string(value: string): this {
    const size = Buffer.byteLength(value);
    this.u16(size);
    this.ensure(size);
    this.length += this.buffer.write(value, this.length, 'utf8');
    return this;
  }

  /** Bytes `from` to `to` of `source`, as they are (no length). */
  raw(source: Buffer, from = 0, to = source.length): this {
    const n = to - from;
    this.ensure(n);
    source.copy(this.buffer, this.length, from, to);
    this.length += n;
    return this;
  }

  /** How many bytes are written since the last take: where the next one goes in the taken buffer. */
  get size(): number {
    return this.length;
  }

  /** Room for a u16 byte length, filled by `endSized(at)` once what it measures is written in place. */
  beginSized(): number {
    this.ensure(2);
    const at = this.length;
    this.length += 2;
    return at;
  }

  endSized(at: number): this {
    const size = this.length - at - 2;
    if (size > 0xffff) throw new RangeError(`${size} bytes do not fit a 16-bit length`);
    this.buffer.writeUInt16BE(size, at);
    return this;
  }

  /** Forgets everything written since the last take. */
  reset(): void {
    this.length = 0;
  }

  /** The bytes written, copied out so that the writer can be reused. */
  take(): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, this.length));
    this.length = 0;
    return out;
  }
}

export class BinaryFormatError extends Error {
  override name = 'BinaryFormatError';
}

export class BinaryReader {
  at: number;

  constructor(
    readonly buffer: Buffer,
    start = 0,
    private readonly end = buffer.length,
  ) {
    this.at = start;
  }

  get done(): boolean {
    return this.at >= this.end;
  }

  private need(n: number): number {
    const at = this.at;
    if (at + n > this.end) throw new BinaryFormatError(`truncated record at byte ${at}`);
    this.at = at + n;
    return at;
  }

  u8(): number {
    return this.buffer[this.need(1)] as number;
  }

  u16(): number {
    return this.buffer.readUInt16BE(this.need(2));
  }

  u32(): number {
    return this.buffer.readUInt32BE(this.need(4));
  }

  f64(): number {
    return this.buffer.readDoubleBE(this.need(8));
  }

  /** Passes over `n` bytes. */
  skip(n: number): void {
    this.need(n);
  }

  /** `n` raw bytes, as a view (no copy). */
  slice(n: number): Buffer {
    const at = this.need(n);
    return this.buffer.subarray(at, at + n);
  }

  /** A reader of the next `n` bytes, which this one skips: no copy, and no Buffer view either. */
  sub(n: number): BinaryReader {
    const at = this.need(n);
    return new BinaryReader(this.buffer, at, at + n);
  }

  /** A u16 byte length, then the bytes, as a view. */
  bytes(): Buffer {
    return this.slice(this.u16());
  }

  string(): string {
    const n = this.u16();
    const at = this.need(n);
    return this.buffer.toString('utf8', at, at + n);
  }
}
