import { decompress as zstdDecompress } from 'fzstd';
import kafkajs from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';
import lz4 from 'lz4js';
import type { KafkaCompression } from '../config';
import { ConfigurationError } from '../errors';

// kafkajs is CommonJS: Node's ES loader does not see these two as named exports.
const { CompressionCodecs, CompressionTypes } = kafkajs;

/**
 * Kafka's record-batch codecs for kafkajs, which ships gzip only: snappy (kafkajs-snappy over
 * snappyjs), LZ4 frames (lz4js) and zstd (fzstd to read; Node's zlib to write, from Node.js 22.15,
 * which the Lambda runtime has). All pure JavaScript: nothing to compile at install. Consumers
 * (the local event source) read every codec a producer may choose; the publisher writes the one
 * KAFKA_COMPRESSION names.
 */

interface Encoder {
  readonly buffer: Buffer;
}

const lz4Codec = () => ({
  async compress(encoder: Encoder): Promise<Buffer> {
    return Buffer.from(lz4.compress(encoder.buffer));
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    return Buffer.from(lz4.decompress(buffer));
  },
});

type ZstdCompress = (data: Buffer) => Buffer;

/** Node's zstd (zlib.zstdCompressSync, Node.js 22.15+), or undefined where it has none. */
function nodeZstdCompress(): ZstdCompress | undefined {
  const zlib = process.getBuiltinModule('node:zlib') as unknown as { zstdCompressSync?: ZstdCompress };
  return zlib.zstdCompressSync;
}

const zstdCodec = () => ({
  async compress(encoder: Encoder): Promise<Buffer> {
    const compress = nodeZstdCompress();
    if (compress === undefined) {
      throw new ConfigurationError(
        `zstd compression needs Node.js 22.15 or later, this is ${process.version}`,
      );
    }
    return compress(encoder.buffer);
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    return Buffer.from(zstdDecompress(buffer));
  },
});

let registered = false;

/** Makes kafkajs read and write snappy, LZ4 and zstd batches (its codec registry is process-wide). */
export function registerKafkaCodecs(): void {
  if (registered) return;
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = zstdCodec;
  registered = true;
}

export const KAFKA_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

const TYPES: Readonly<Record<KafkaCompression, kafkajs.CompressionTypes>> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/**
 * kafkajs's code for a KAFKA_COMPRESSION setting, with its codec registered; refuses at cold start
 * a codec this Node.js cannot write.
 */
export function compressionType(compression: KafkaCompression): kafkajs.CompressionTypes {
  registerKafkaCodecs();
  if (compression === 'zstd' && nodeZstdCompress() === undefined) {
    throw new ConfigurationError(
      `KAFKA_COMPRESSION=zstd needs Node.js 22.15 or later to compress, this is ${process.version}`,
    );
  }
  return TYPES[compression];
}
