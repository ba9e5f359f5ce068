import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { Command, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRedis, startRedis } from '../../../../local/redis/redis-server';

/** RESP as Redis reads it: what a pipeline must put on the wire, whatever it copies or not. */
function resp(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

let server: LocalRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  await redis.ping();
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** The bytes one pipeline wrote to the connection, and its replies. */
async function written(fill: (pipeline: ReturnType<Redis['pipeline']>) => void) {
  const stream = (redis as unknown as { stream: { write: (chunk: unknown, ...rest: unknown[]) => boolean } })
    .stream;
  const chunks: Buffer[] = [];
  const write = stream.write;
  stream.write = function (chunk: unknown, ...rest: unknown[]) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    return write.call(this, chunk, ...rest);
  };
  try {
    const pipeline = redis.pipeline();
    fill(pipeline);
    const replies = await pipeline.exec();
    return { chunks, replies };
  } finally {
    stream.write = write;
  }
}

describe('ioredis, as patches/ioredis+5.11.1.patch leaves it', () => {
  it('is installed with the patch (npm ci runs patch-package)', () => {
    const source = readFileSync(createRequire(import.meta.url).resolve('ioredis/built/Pipeline.js'), 'utf8');
    expect(source).toContain("Surge's patch");
  });

  it('writes a pipeline of one binary command as one chunk of exactly its RESP, and Redis stores the bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 20_000 }), async (bytes) => {
        const value = Buffer.from(bytes);
        const { chunks, replies } = await written((p) => p.callBuffer('SET', 'patched', value));
        expect(replies).toEqual([[null, Buffer.from('OK')]]);
        expect(chunks).toHaveLength(1);
        expect(chunks[0]).toEqual(resp(['SET', 'patched', value]));
        expect(await redis.getBuffer('patched')).toEqual(value);
      }),
      { numRuns: 30 },
    );
  });

  it('sends the very buffer the command was encoded into, without a copy', async () => {
    const encoded: unknown[] = [];
    const toWritable = Command.prototype.toWritable;
    Command.prototype.toWritable = function (this: Command, ...args: Parameters<typeof toWritable>) {
      const out = toWritable.apply(this, args);
      encoded.push(out);
      return out;
    };
    try {
      const { chunks } = await written((p) => p.callBuffer('SET', 'patched', Buffer.alloc(100_000, 1)));
      expect(encoded).toHaveLength(1);
      expect(chunks[0]).toBe(encoded[0]);
    } finally {
      Command.prototype.toWritable = toWritable;
    }
  });

  it('still joins a pipeline of text and binary commands into one chunk, in order', async () => {
    const value = Buffer.from([0, 255, 13, 10, 36]);
    const { chunks, replies } = await written((p) => {
      p.set('text', 'plain');
      p.callBuffer('SET', 'binary', value);
      p.get('text');
    });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toEqual(
      Buffer.concat([resp(['set', 'text', 'plain']), resp(['SET', 'binary', value]), resp(['get', 'text'])]),
    );
    expect(replies?.map(([error]) => error)).toEqual([null, null, null]);
    expect(await redis.getBuffer('binary')).toEqual(value);
  });
});
