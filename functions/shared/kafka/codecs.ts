import kafkajs from 'kafkajs';
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

// The codec libraries load on first use: a function that only writes uncompressed or gzip batches
// (or one codec) does not evaluate the others at its cold start.
const snappyCodec = () => {
  const codec = import('kafkajs-snappy').then((m) => m.default());
  return {
    async compress(encoder: Encoder): Promise<Buffer> {
      return (await codec).compress(encoder);
    },
    async decompress(buffer: Buffer): Promise<Buffer> {
      return (await codec).decompress(buffer);
    },
  };
};

const lz4Codec = () => ({
  async compress(encoder: Encoder): Promise<Buffer> {
    const lz4 = (await import('lz4js')).default;
    return Buffer.from(lz4.compress(encoder.buffer));
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    const lz4 = (await import('lz4js')).default;
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
    const { decompress } = await import('fzstd');
    return Buffer.from(decompress(buffer));
  },
});

let registered = false;

/** Makes kafkajs read and write snappy, LZ4 and zstd batches (its codec registry is process-wide). */
export function registerKafkaCodecs(): void {
  if (registered) return;
  CompressionCodecs[CompressionTypes.Snappy] = snappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = zstdCodec;
  registered = true;
}

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
