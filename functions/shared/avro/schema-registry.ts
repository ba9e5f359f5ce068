import type avro from 'avsc';
import { Type } from 'avsc/lib/types.js';
import manifest from '../../../schemas/manifest.json' with { type: 'json' };
import { ConfigurationError } from '../errors';

// Built-ins as their CommonJS objects: an ES import of `node:fs` makes Node.js build a namespace
// that reads every export, loading fs streams, fs/promises and readline at a cold start (~2 ms).
const { readFileSync } = process.getBuiltinModule('node:fs');
const { join } = process.getBuiltinModule('node:path');
const { fileURLToPath } = process.getBuiltinModule('node:url');

/** Byte 0 of the Confluent wire format; bytes 1-4 carry the schema id, big-endian. */
export const CONFLUENT_MAGIC = 0x00;
export const CONFLUENT_HEADER_BYTES = 5;

export const SCHEMA_IDS = { telemetryV1: 1, telemetryV2: 2, deviceSummary: 101, alert: 201 } as const;

interface ManifestEntry {
  readonly id: number;
  readonly name: string;
  readonly version: number;
  readonly file: string;
}

/** Where the .avsc files are: beside the source tree, or wherever the bundle put them (SURGE_SCHEMAS_DIR). */
export function schemasDir(): string {
  return process.env.SURGE_SCHEMAS_DIR ?? fileURLToPath(new URL('../../../schemas/', import.meta.url));
}

type DecodeOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: 'UNKNOWN_SCHEMA' | 'DECODE_ERROR'; readonly error: string };

interface Reader {
  readonly type: avro.Type;
  readonly resolver: avro.Resolver | undefined;
}

/**
 * The schemas of schemas/manifest.json, parsed once. Records of any known version of a
 * record name are read with that name's newest schema (Avro schema resolution).
 */
export class SchemaRegistry {
  private readonly types = new Map<number, avro.Type>();
  private readonly readers = new Map<number, Reader>();
  private readonly newestByName = new Map<string, ManifestEntry>();
  private scratch = Buffer.allocUnsafe(4_096);

  constructor(entries: readonly ManifestEntry[], loadSchema: (file: string) => unknown) {
    for (const entry of entries) {
      const type = Type.forSchema(loadSchema(entry.file) as avro.Schema);
      this.types.set(entry.id, type);
      const newest = this.newestByName.get(entry.name);
      if (newest === undefined || newest.version < entry.version) this.newestByName.set(entry.name, entry);
    }
  }

  static fromDirectory(dir: string = schemasDir()): SchemaRegistry {
    return new SchemaRegistry(manifest.schemas, (file) => {
      try {
        return JSON.parse(readFileSync(join(dir, file), 'utf8'));
      } catch (cause) {
        throw new ConfigurationError(`cannot read Avro schema ${file} from ${dir}`, { cause });
      }
    });
  }

  typeOf(schemaId: number): avro.Type {
    const type = this.types.get(schemaId);
    if (type === undefined)
      throw new ConfigurationError(`schema id ${schemaId} is not in schemas/manifest.json`);
    return type;
  }

  /**
   * Avro body framed in the Confluent wire format. The value is written once into a reused
   * buffer behind the header, then copied out at its exact size (avsc's toBuffer would allocate a
   * zero-filled buffer per message and the framing another).
   */
  encode(schemaId: number, value: unknown): Buffer {
    const type = this.typeOf(schemaId);
    let end = type.encode(value, this.scratch, CONFLUENT_HEADER_BYTES);
    if (end < 0) {
      // Too small by -end bytes: grow and write again.
      this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.scratch.length - end));
      end = type.encode(value, this.scratch, CONFLUENT_HEADER_BYTES);
    }
    this.scratch[0] = CONFLUENT_MAGIC;
    this.scratch.writeUInt32BE(schemaId, 1);
    return Buffer.from(this.scratch.subarray(0, end));
  }

  /**
   * Decodes the Avro body that follows a Confluent header, resolving the writer's schema to the
   * newest schema of the same record name. The body must be consumed exactly: trailing bytes are an error.
   */
  decodeFramed<T>(schemaId: number, framed: Buffer, expectedName: string): DecodeOutcome<T> {
    const reader = this.readerFor(schemaId, expectedName);
    if (reader === undefined) {
      return {
        ok: false,
        reason: 'UNKNOWN_SCHEMA',
        error: `schema id ${schemaId} is not a known ${expectedName}`,
      };
    }
    let decoded: { value: unknown; offset: number };
    try {
      decoded = reader.type.decode(framed, CONFLUENT_HEADER_BYTES, reader.resolver);
    } catch (error) {
      return {
        ok: false,
        reason: 'DECODE_ERROR',
        error: `Avro body does not decode: ${(error as Error).message}`,
      };
    }
    if (decoded.offset < 0) {
      return { ok: false, reason: 'DECODE_ERROR', error: 'Avro body is truncated' };
    }
    if (decoded.offset !== framed.length) {
      return {
        ok: false,
        reason: 'DECODE_ERROR',
        error: `Avro body leaves ${framed.length - decoded.offset} trailing bytes`,
      };
    }
    return { ok: true, value: decoded.value as T };
  }

  private readerFor(schemaId: number, expectedName: string): Reader | undefined {
    const cached = this.readers.get(schemaId);
    if (cached !== undefined) return cached;
    const writer = this.types.get(schemaId);
    const newest = this.newestByName.get(expectedName);
    if (writer === undefined || newest === undefined || writer.name !== expectedName) return undefined;
    const type = this.typeOf(newest.id);
    const reader = { type, resolver: newest.id === schemaId ? undefined : type.createResolver(writer) };
    this.readers.set(schemaId, reader);
    return reader;
  }
}
