/**
 * The Kafka wire's primitives for produce-request.ts: a growing big-endian writer with Kafka's
 * zig-zag varints, their sizes, and CRC-32C (Castagnoli), which RecordBatch v2 uses.
 */

/** Zig-zag varint size, as Kafka's record fields use; for 32-bit values. */
export function varIntSize(value: number): number {
  let encoded = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (encoded >= 0x80) {
    encoded >>>= 7;
    size++;
  }
  return size;
}

/** Zig-zag varlong size for a safe integer. */
export function varLongSize(value: number): number {
  let encoded = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (encoded >= 0x80) {
    encoded = Math.floor(encoded / 0x80);
    size++;
  }
  return size;
}

/** A big-endian writer over one buffer that doubles when full. */
export class KafkaWriter {
  private buffer: Buffer;
  length = 0;

  constructor(initialSize: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(initialSize, 64));
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  /** Skips `size` bytes to be filled in later; returns where they start. */
  reserve(size: number): number {
    this.ensure(size);
    const at = this.length;
    this.length += size;
    return at;
  }

  int8(value: number): void {
    this.ensure(1);
    this.buffer[this.length++] = value & 0xff;
  }

  int16(value: number): void {
    this.ensure(2);
    this.buffer.writeInt16BE(value, this.length);
    this.length += 2;
  }

  int32(value: number): void {
    this.ensure(4);
    this.buffer.writeInt32BE(value, this.length);
    this.length += 4;
  }

  int32At(at: number, value: number): void {
    this.buffer.writeInt32BE(value, at);
  }

  uint32At(at: number, value: number): void {
    this.buffer.writeUInt32BE(value, at);
  }

  int64(value: bigint): void {
    this.ensure(8);
    this.buffer.writeBigInt64BE(value, this.length);
    this.length += 8;
  }

  /** An int16 byte length (-1 for null), then UTF-8. */
  nullableString(value: string | null): void {
    if (value === null) {
      this.int16(-1);
      return;
    }
    const size = Buffer.byteLength(value);
    this.int16(size);
    this.ensure(size);
    this.length += this.buffer.write(value, this.length, 'utf8');
  }

  varInt(value: number): void {
    this.ensure(5);
    let encoded = ((value << 1) ^ (value >> 31)) >>> 0;
    while (encoded >= 0x80) {
      this.buffer[this.length++] = (encoded & 0x7f) | 0x80;
      encoded >>>= 7;
    }
    this.buffer[this.length++] = encoded;
  }

  varLong(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`timestamp delta ${value} is not a safe integer`);
    this.ensure(10);
    let encoded = value >= 0 ? value * 2 : -value * 2 - 1;
    while (encoded >= 0x80) {
      this.buffer[this.length++] = (encoded % 0x80) | 0x80;
      encoded = Math.floor(encoded / 0x80);
    }
    this.buffer[this.length++] = encoded;
  }

  /** A varint length (-1 for null), then the bytes; `size` is `byteSize(value)`. */
  varIntBytes(value: Buffer | string | null | undefined, size: number): void {
    this.varInt(size);
    if (size <= 0) return;
    this.ensure(size);
    if (typeof value === 'string') this.buffer.write(value, this.length, 'utf8');
    else (value as Buffer).copy(this.buffer, this.length);
    this.length += size;
  }

  raw(bytes: Buffer): void {
    this.ensure(bytes.length);
    bytes.copy(this.buffer, this.length);
    this.length += bytes.length;
  }

  view(from: number, to: number): Buffer {
    return this.buffer.subarray(from, to);
  }

  /** The bytes written, as a view of the buffer (no copy). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

const CRC_TABLE = castagnoliTable();

/** CRC-32C (Castagnoli), the checksum of a RecordBatch. */
export function crc32c(bytes: Uint8Array): number {
  const table = CRC_TABLE;
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) {
    crc = (table[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ -1) >>> 0;
}

function castagnoliTable(): Int32Array {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}
