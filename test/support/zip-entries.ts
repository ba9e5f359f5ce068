import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  readonly name: string;
  /** The Unix mode in the entry's external attributes, when the zip was made on Unix. */
  readonly unixMode?: number;
  readonly content: Buffer;
}

/**
 * The entries of a zip as an unzipper on Lambda sees them, read from the central directory:
 * the external attributes carry the mode that decides whether a file can be executed.
 */
export function zipEntries(zip: Buffer): ZipEntry[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('not a zip: no end of central directory');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry at ${at}`);
    const madeBy = zip.readUInt16LE(at + 4) >> 8;
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const external = zip.readUInt32LE(at + 38);
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const dataStart =
      localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    entries.push({
      name,
      unixMode: madeBy === 3 ? external >>> 16 : undefined,
      content: method === 8 ? inflateRawSync(data) : Buffer.from(data),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
