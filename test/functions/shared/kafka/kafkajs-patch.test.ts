import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type { Message, PartitionerArgs } from 'kafkajs';
import groupMessagesPerPartition from 'kafkajs/src/producer/groupMessagesPerPartition.js';
import Encoder from 'kafkajs/src/protocol/encoder.js';
import createRequest from 'kafkajs/src/protocol/request.js';
import { describe, expect, it } from 'vitest';

/** kafkajs 2.2.4's own grouping, as it ships: the reference the patch must match. */
function shippedGrouping({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: Parameters<typeof groupMessagesPerPartition>[0]): Record<number, Message[]> {
  if (partitionMetadata.length === 0) return {};
  return messages.reduce<Record<number, Message[]>>((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition] || [];
    return Object.assign(result, { [partition]: [...current, message] });
  }, {});
}

/** kafkajs 2.2.4's own framing of a request (protocol/request.js), as it ships. */
async function shippedFraming({
  correlationId,
  clientId,
  request: { apiKey, apiVersion, encode },
}: Parameters<typeof createRequest>[0]): Promise<Encoder> {
  const payload = await encode();
  const requestPayload = new Encoder()
    .writeInt16(apiKey)
    .writeInt16(apiVersion)
    .writeInt32(correlationId)
    .writeString(clientId)
    .writeEncoder(payload);
  return new Encoder().writeInt32(requestPayload.size()).writeEncoder(requestPayload);
}

const metadata = (n: number) =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 1 }));
// The message's key names its partition, so any assignment (all on one, interleaved) can be drawn.
const byKey = ({ message }: PartitionerArgs) => Number(message.key);

describe('kafkajs, as patches/kafkajs+2.2.4.patch leaves it', () => {
  it('is installed with the patch (npm ci runs patch-package)', () => {
    const source = (file: string) =>
      readFileSync(createRequire(import.meta.url).resolve(`kafkajs/src/${file}`), 'utf8');
    expect(source('producer/groupMessagesPerPartition.js')).toContain("Surge's patch");
    expect(source('producer/groupMessagesPerPartition.js')).not.toContain('[...current, message]');
    expect(source('protocol/request.js')).toContain("Surge's patch");
    expect(source('protocol/request.js')).not.toContain('requestPayload.size()');
  });

  it('frames every request in one buffer of its exact size, byte for byte as kafkajs did', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          correlationId: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          clientId: fc.string({ unit: 'grapheme', maxLength: 40 }),
          apiKey: fc.integer({ min: 0, max: 70 }),
          apiVersion: fc.integer({ min: 0, max: 12 }),
          // Bodies around the encoders' powers of two, where the shipped code grew its buffers.
          body: fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc.uint8Array({ minLength: 500, maxLength: 1100 }),
          ),
        }),
        async ({ correlationId, clientId, apiKey, apiVersion, body }) => {
          const request = {
            apiKey,
            apiVersion,
            encode: async () => new Encoder().writeBuffer(Buffer.from(body)),
          };
          const patched = await createRequest({ correlationId, clientId, request });
          const shipped = await shippedFraming({ correlationId, clientId, request });
          expect(patched.buffer).toEqual(shipped.buffer);
          expect(patched.buf.length).toBe(patched.buffer.length);
        },
      ),
    );
  });

  it('refuses a request whose encode gives no encoder, as kafkajs did', async () => {
    const request = { apiKey: 0, apiVersion: 3, encode: async () => ({}) as Encoder };
    await expect(createRequest({ correlationId: 1, clientId: 'c', request })).rejects.toThrow(
      'value should be an instance of Encoder',
    );
  });

  it('groups every send as kafkajs itself did: same partitions, same messages, same order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 8 }),
        fc.array(fc.nat(), { maxLength: 300 }),
        (partitions, draws) => {
          const partitionMetadata = metadata(partitions) as PartitionerArgs['partitionMetadata'];
          const messages: Message[] = draws.map((draw, i) => ({
            key: String(partitions === 0 ? 0 : draw % partitions),
            value: `m${i}`,
          }));
          const args = { topic: 't', partitionMetadata, messages, partitioner: byKey };
          expect(groupMessagesPerPartition(args)).toEqual(shippedGrouping(args));
        },
      ),
    );
  });

  it('keeps each partition’s messages as the very objects it was given', () => {
    const messages: Message[] = [
      { key: '1', value: 'a' },
      { key: '0', value: 'b' },
      { key: '1', value: 'c' },
    ];
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: metadata(2) as PartitionerArgs['partitionMetadata'],
      messages,
      partitioner: byKey,
    });
    expect(grouped[1]?.[0]).toBe(messages[0]);
    expect(grouped[1]?.[1]).toBe(messages[2]);
    expect(grouped[0]).toEqual([messages[1]]);
  });
});
