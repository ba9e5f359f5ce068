import produceRequests from 'kafkajs/src/protocol/requests/produce/index.js';
import kafkajsProduceV3 from 'kafkajs/src/protocol/requests/produce/v3/request.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  isLeanProduceVersion,
  useLeanProduceEncoding,
} from '../../../../functions/shared/kafka/lean-produce';
import {
  COMPRESSION_GZIP,
  crc32c,
  encodeProduceRequest,
  type ProduceMessage,
  type ProduceRequestArgs,
} from '../../../../functions/shared/kafka/produce-request';
import { random } from '../../../../functions/simulator/generator';

const NOW = 1_764_000_000_123;

/** kafkajs's own bytes for the same request, with its clock fixed at NOW. */
async function kafkajsBytes(args: ProduceRequestArgs): Promise<Buffer> {
  vi.spyOn(Date, 'now').mockReturnValue(NOW);
  const encoder = await kafkajsProduceV3(args).encode();
  return encoder.buffer;
}

/** Messages of every shape the publisher sends: string and binary keys, tombstones, headers. */
function messages(count: number, seed: number): ProduceMessage[] {
  const next = random(seed);
  return Array.from({ length: count }, (_, i) => {
    const size = Math.floor(next() * 300);
    const value = Buffer.alloc(size, i % 251);
    const kind = i % 5;
    if (kind === 0) return { key: `sensor-${i}`, value };
    if (kind === 1) return { key: Buffer.from([i & 0xff, 0, 0xff]), value };
    if (kind === 2) return { key: null, value: null };
    if (kind === 3) {
      return {
        key: `dévice-${i}`,
        value,
        headers: {
          'x-reason': 'DECODE_ERROR',
          'x-error': `bad varint at byte ${i} — ünïcode`,
          'x-source-offset': String(i * 1_000_003),
          original: Buffer.from([1, 2, 3]),
        },
      };
    }
    return { key: `k${i}`, value: `text value ${i}`, headers: { multi: ['a', Buffer.from('b')], empty: '' } };
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('encodeProduceRequest', () => {
  it('writes the same bytes as kafkajs for a plain producer, over several topics and partitions', async () => {
    const args: ProduceRequestArgs = {
      acks: -1,
      timeout: 30_000,
      topicData: [
        {
          topic: 'processed-data',
          partitions: [
            { partition: 0, messages: messages(500, 1) },
            { partition: 5, messages: messages(3, 2) },
          ],
        },
        { topic: 'iot-data-dlq', partitions: [{ partition: 2, messages: messages(40, 3) }] },
      ],
    };
    expect((await encodeProduceRequest(args, NOW)).equals(await kafkajsBytes(args))).toBe(true);
  });

  it("writes the idempotent producer's id, epoch and sequences as kafkajs does", async () => {
    const args: ProduceRequestArgs = {
      acks: -1,
      timeout: 10_000,
      producerId: { value: 4_000_000_000_123n },
      producerEpoch: 7,
      topicData: [
        {
          topic: 'iot-alerts',
          partitions: [{ partition: 3, firstSequence: 12_345, messages: messages(20, 4) }],
        },
      ],
    };
    expect((await encodeProduceRequest(args, NOW)).equals(await kafkajsBytes(args))).toBe(true);
  });

  it('marks a transactional batch and writes the transactional id', async () => {
    const args: ProduceRequestArgs = {
      acks: -1,
      timeout: 1_000,
      transactionalId: 'surge-tx',
      producerId: 9n,
      producerEpoch: 1,
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages: messages(2, 5) }] }],
    };
    expect((await encodeProduceRequest(args, NOW)).equals(await kafkajsBytes(args))).toBe(true);
  });

  it('uses the messages’ own timestamps, with deltas from the earliest', async () => {
    const stamped = messages(30, 6).map((message, i) => ({
      ...message,
      timestamp: String(NOW - 5_000 + i * 37),
    }));
    const args: ProduceRequestArgs = {
      acks: 1,
      timeout: 5_000,
      topicData: [{ topic: 't', partitions: [{ partition: 1, messages: stamped }] }],
    };
    expect((await encodeProduceRequest(args, NOW)).equals(await kafkajsBytes(args))).toBe(true);
  });

  it('writes multi-byte varints for large values and grows past its first estimate', async () => {
    const big = [
      { key: 'big', value: Buffer.alloc(200_000, 7) },
      { key: 'x'.repeat(20_000), value: 'y'.repeat(70_000) },
    ];
    const args: ProduceRequestArgs = {
      acks: -1,
      timeout: 30_000,
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages: big }] }],
    };
    expect((await encodeProduceRequest(args, NOW)).equals(await kafkajsBytes(args))).toBe(true);
  });

  it('gzips the records as kafkajs does', async () => {
    const args: ProduceRequestArgs = {
      acks: -1,
      timeout: 30_000,
      compression: COMPRESSION_GZIP,
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages: messages(200, 7) }] }],
    };
    expect((await encodeProduceRequest(args, NOW)).equals(await kafkajsBytes(args))).toBe(true);
  });

  it('refuses a compression it does not write', async () => {
    await expect(
      encodeProduceRequest({ acks: -1, timeout: 1, compression: 2, topicData: [] }, NOW),
    ).rejects.toThrow(/compression 2/);
  });
});

describe('crc32c', () => {
  it('matches the CRC-32C check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });
});

describe('useLeanProduceEncoding', () => {
  const args: ProduceRequestArgs = {
    acks: -1,
    timeout: 30_000,
    topicData: [{ topic: 'processed-data', partitions: [{ partition: 4, messages: messages(50, 8) }] }],
  };

  it("replaces only the encoding of kafkajs's Produce requests from v3, keeping version and response", async () => {
    const before = produceRequests.protocol({ version: 7 })(args);
    useLeanProduceEncoding();
    useLeanProduceEncoding();
    const after = produceRequests.protocol({ version: 7 })(args);
    expect(after.request.apiVersion).toBe(7);
    expect(after.request.apiKey).toBe(before.request.apiKey);
    expect(after.response).toBe(before.response);
    expect(after.request.encode).not.toBe(before.request.encode);
    vi.spyOn(Date, 'now').mockReturnValue(NOW);
    const lean = (await after.request.encode()) as { buffer: Buffer };
    const original = (await before.request.encode()) as { buffer: Buffer };
    expect(lean.buffer.equals(original.buffer)).toBe(true);
  });

  it('writes only the versions that share the v3 layout (3 to 8)', () => {
    expect([2, 3, 7, 8, 9, '7'].map(isLeanProduceVersion)).toEqual([false, true, true, true, false, true]);
  });

  it('leaves older versions and other compressions to kafkajs', async () => {
    useLeanProduceEncoding();
    const v2 = produceRequests.protocol({ version: 2 })(args);
    expect(v2.request.apiVersion).toBe(2);
    const snappy = produceRequests.protocol({ version: 7 })({ ...args, compression: 2 });
    // kafkajs's own path: it has no snappy codec unless one is registered.
    await expect(snappy.request.encode()).rejects.toThrow(/Snappy/i);
  });
});
