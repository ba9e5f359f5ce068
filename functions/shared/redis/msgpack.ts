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

class Writer {
  buffer = Buffer.allocUnsafe(256);
  length = 0;

  ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  byte(value: number): void {
    this.ensure(1);
    this.buffer[this.length++] = value;
  }

  write(value: Packable): void {
    if (value === null) this.byte(0xc0);
    else if (value === true) this.byte(0xc3);
    else if (value === false) this.byte(0xc2);
    else if (typeof value === 'number') this.number(value);
    else if (typeof value === 'string') this.string(value);
    else if (Array.isArray(value)) {
      this.header(value.length, 0x90, 0xdc);
      for (const item of value) this.write(item);
    } else {
      const entries = Object.entries(value as Record<string, Packable>);
      this.header(entries.length, 0x80, 0xde);
      for (const [key, item] of entries) {
        this.string(key);
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

  private number(value: number): void {
    this.ensure(9);
    if (Number.isInteger(value) && value >= 0 && value < 128) {
      this.buffer[this.length++] = value;
    } else if (Number.isInteger(value) && value >= -32 && value < 0) {
      this.buffer[this.length++] = value & 0xff;
    } else if (Number.isSafeInteger(value) && value >= 0) {
      this.buffer[this.length++] = 0xcf;
      this.buffer.writeBigUInt64BE(BigInt(value), this.length);
      this.length += 8;
    } else if (Number.isSafeInteger(value)) {
      this.buffer[this.length++] = 0xd3;
      this.buffer.writeBigInt64BE(BigInt(value), this.length);
      this.length += 8;
    } else {
      this.buffer[this.length++] = 0xcb;
      this.buffer.writeDoubleBE(value, this.length);
      this.length += 8;
    }
  }

  private string(value: string): void {
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
}

export function pack(value: Packable): Buffer {
  const writer = new Writer();
  writer.write(value);
  return writer.buffer.subarray(0, writer.length);
}

export class MsgpackError extends Error {
  override name = 'MsgpackError';
}

export function unpack(buffer: Buffer): unknown {
  let at = 0;
  const need = (n: number) => {
    if (at + n > buffer.length) throw new MsgpackError(`truncated MessagePack at byte ${at}`);
  };
  const str = (n: number) => {
    need(n);
    const s = buffer.toString('utf8', at, at + n);
    at += n;
    return s;
  };
  const read = (): unknown => {
    need(1);
    const b = buffer[at++] as number;
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xf0) === 0x90) return list(b & 0x0f);
    if ((b & 0xf0) === 0x80) return map(b & 0x0f);
    if ((b & 0xe0) === 0xa0) return str(b & 0x1f);
    const at0 = at;
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xca:
        need(4);
        at += 4;
        return buffer.readFloatBE(at0);
      case 0xcb:
        need(8);
        at += 8;
        return buffer.readDoubleBE(at0);
      case 0xcc:
        need(1);
        return buffer[at++];
      case 0xcd:
        need(2);
        at += 2;
        return buffer.readUInt16BE(at0);
      case 0xce:
        need(4);
        at += 4;
        return buffer.readUInt32BE(at0);
      case 0xcf:
        need(8);
        at += 8;
        return Number(buffer.readBigUInt64BE(at0));
      case 0xd0:
        need(1);
        return buffer.readInt8(at++);
      case 0xd1:
        need(2);
        at += 2;
        return buffer.readInt16BE(at0);
      case 0xd2:
        need(4);
        at += 4;
        return buffer.readInt32BE(at0);
      case 0xd3:
        need(8);
        at += 8;
        return Number(buffer.readBigInt64BE(at0));
      case 0xd9:
        need(1);
        return str(buffer[at++] as number);
      case 0xda:
        need(2);
        at += 2;
        return str(buffer.readUInt16BE(at0));
      case 0xdb:
        need(4);
        at += 4;
        return str(buffer.readUInt32BE(at0));
      case 0xdc:
        need(2);
        at += 2;
        return list(buffer.readUInt16BE(at0));
      case 0xdd:
        need(4);
        at += 4;
        return list(buffer.readUInt32BE(at0));
      case 0xde:
        need(2);
        at += 2;
        return map(buffer.readUInt16BE(at0));
      case 0xdf:
        need(4);
        at += 4;
        return map(buffer.readUInt32BE(at0));
      default:
        throw new MsgpackError(`unsupported MessagePack type 0x${b.toString(16)} at byte ${at0 - 1}`);
    }
  };
  const list = (n: number) => Array.from({ length: n }, read);
  const map = (n: number) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const key = read();
      out[String(key)] = read();
    }
    return out;
  };
  const value = read();
  if (at !== buffer.length) throw new MsgpackError(`${buffer.length - at} bytes after the MessagePack value`);
  return value;
}
