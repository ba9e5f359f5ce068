/**
 * The subset of MessagePack that Redis's Lua cmsgpack speaks with us: nil, booleans, numbers
 * (integers, float32, float64), strings, arrays and maps. Doubles travel as float64, so sums and
 * extremes round-trip exactly, with none of the cost of formatting numbers as text in Lua.
 */
export type Packable =
  | null
  | boolean
  | number
  | string
  | readonly Packable[]
  | { readonly [key: string]: Packable };

/** Writes MessagePack into a buffer that grows as needed; BinaryWriter (binary.ts) builds on it. */
export class MessagePackWriter {
  protected buffer: Buffer;
  protected length = 0;

  constructor(initialSize = 256) {
    this.buffer = Buffer.allocUnsafe(initialSize);
  }

  protected ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  protected byte(value: number): void {
    this.ensure(1);
    this.buffer[this.length++] = value;
  }

  write(value: Packable): void {
    if (value === null) this.byte(0xc0);
    else if (value === true) this.byte(0xc3);
    else if (value === false) this.byte(0xc2);
    else if (typeof value === 'number') this.packNumber(value);
    else if (typeof value === 'string') this.packString(value);
    else if (Array.isArray(value)) {
      // Indexed loops: an iterator here, in a recursive call V8 cannot inline, allocates per item.
      const items = value as readonly Packable[];
      this.header(items.length, 0x90, 0xdc);
      for (let i = 0; i < items.length; i++) this.write(items[i] as Packable);
    } else {
      const entries = Object.entries(value as Record<string, Packable>);
      this.header(entries.length, 0x80, 0xde);
      for (const [key, item] of entries) {
        this.packString(key);
        this.write(item);
      }
    }
  }

  private header(count: number, fix: number, wide16: number): void {
    if (count < 16) {
      this.byte(fix | count);
      return;
    }
    this.ensure(5);
    if (count < 0x10000) {
      this.buffer[this.length++] = wide16;
      this.buffer.writeUInt16BE(count, this.length);
      this.length += 2;
    } else {
      this.buffer[this.length++] = wide16 + 1;
      this.buffer.writeUInt32BE(count, this.length);
      this.length += 4;
    }
  }

  private packNumber(value: number): void {
    this.ensure(9);
    const buffer = this.buffer;
    if (!Number.isSafeInteger(value)) {
      buffer[this.length++] = 0xcb;
      buffer.writeDoubleBE(value, this.length);
      this.length += 8;
    } else if (value >= 0) {
      if (value < 0x80) buffer[this.length++] = value;
      else if (value < 0x1_0000_0000) {
        buffer[this.length++] = 0xce;
        buffer.writeUInt32BE(value, this.length);
        this.length += 4;
      } else {
        buffer[this.length++] = 0xcf;
        this.int64(value);
      }
    } else if (value >= -32) {
      buffer[this.length++] = value & 0xff;
    } else {
      buffer[this.length++] = 0xd3;
      this.int64(value);
    }
  }

  /** Two's complement in two 32-bit halves: exact for safe integers, without BigInt. */
  private int64(value: number): void {
    const high = Math.floor(value / 0x1_0000_0000);
    this.buffer.writeInt32BE(high, this.length);
    this.buffer.writeUInt32BE(value - high * 0x1_0000_0000, this.length + 4);
    this.length += 8;
  }

  private packString(value: string): void {
    const bytes = Buffer.byteLength(value);
    this.ensure(bytes + 5);
    if (bytes < 32) this.buffer[this.length++] = 0xa0 | bytes;
    else if (bytes < 0x100) {
      this.buffer[this.length++] = 0xd9;
      this.buffer[this.length++] = bytes;
    } else if (bytes < 0x10000) {
      this.buffer[this.length++] = 0xda;
      this.buffer.writeUInt16BE(bytes, this.length);
      this.length += 2;
    } else {
      this.buffer[this.length++] = 0xdb;
      this.buffer.writeUInt32BE(bytes, this.length);
      this.length += 4;
    }
    this.length += this.buffer.write(value, this.length, 'utf8');
  }

  /** What was written so far (a view, not a copy). */
  written(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

export function pack(value: Packable): Buffer {
  const writer = new MessagePackWriter();
  writer.write(value);
  return writer.written();
}

export class MsgpackError extends Error {
  override name = 'MsgpackError';
}

/**
 * A cursor over MessagePack bytes. A class with plain fields (not closures) keeps V8 on one fast,
 * monomorphic path: replies of a whole batch are decoded through it.
 */
class Reader {
  at = 0;

  constructor(private readonly buffer: Buffer) {}

  get remaining(): number {
    return this.buffer.length - this.at;
  }

  private need(n: number): void {
    if (this.at + n > this.buffer.length) throw new MsgpackError(`truncated MessagePack at byte ${this.at}`);
  }

  read(): unknown {
    const buffer = this.buffer;
    this.need(1);
    const b = buffer[this.at++] as number;
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b < 0x90) return this.map(b & 0x0f);
    if (b < 0xa0) return this.list(b & 0x0f);
    if (b < 0xc0) return this.string(b & 0x1f);
    const at = this.at;
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xca:
        this.need(4);
        this.at += 4;
        return buffer.readFloatBE(at);
      case 0xcb:
        this.need(8);
        this.at += 8;
        return buffer.readDoubleBE(at);
      case 0xcc:
        this.need(1);
        return buffer[this.at++];
      case 0xcd:
        this.need(2);
        this.at += 2;
        return buffer.readUInt16BE(at);
      case 0xce:
        this.need(4);
        this.at += 4;
        return buffer.readUInt32BE(at);
      case 0xcf:
        this.need(8);
        this.at += 8;
        return buffer.readUInt32BE(at) * 0x1_0000_0000 + buffer.readUInt32BE(at + 4);
      case 0xd0:
        this.need(1);
        return buffer.readInt8(this.at++);
      case 0xd1:
        this.need(2);
        this.at += 2;
        return buffer.readInt16BE(at);
      case 0xd2:
        this.need(4);
        this.at += 4;
        return buffer.readInt32BE(at);
      case 0xd3:
        this.need(8);
        this.at += 8;
        return buffer.readInt32BE(at) * 0x1_0000_0000 + buffer.readUInt32BE(at + 4);
      case 0xd9:
        this.need(1);
        return this.string(buffer[this.at++] as number);
      case 0xda:
        this.need(2);
        this.at += 2;
        return this.string(buffer.readUInt16BE(at));
      case 0xdb:
        this.need(4);
        this.at += 4;
        return this.string(buffer.readUInt32BE(at));
      case 0xdc:
        this.need(2);
        this.at += 2;
        return this.list(buffer.readUInt16BE(at));
      case 0xdd:
        this.need(4);
        this.at += 4;
        return this.list(buffer.readUInt32BE(at));
      case 0xde:
        this.need(2);
        this.at += 2;
        return this.map(buffer.readUInt16BE(at));
      case 0xdf:
        this.need(4);
        this.at += 4;
        return this.map(buffer.readUInt32BE(at));
      default:
        throw new MsgpackError(`unsupported MessagePack type 0x${b.toString(16)} at byte ${at - 1}`);
    }
  }

  private string(n: number): string {
    this.need(n);
    const start = this.at;
    this.at += n;
    return this.buffer.toString('utf8', start, this.at);
  }

  private list(n: number): unknown[] {
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.read();
    return out;
  }

  private map(n: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const key = this.read();
      out[String(key)] = this.read();
    }
    return out;
  }
}

export function unpack(buffer: Buffer): unknown {
  const reader = new Reader(buffer);
  const value = reader.read();
  if (reader.remaining !== 0) throw new MsgpackError(`${reader.remaining} bytes after the MessagePack value`);
  return value;
}
