import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type { Message, PartitionerArgs } from 'kafkajs';
import groupMessagesPerPartition from 'kafkajs/src/producer/groupMessagesPerPartition.js';
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

const metadata = (n: number) =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 1 }));
// The message's key names its partition, so any assignment (all on one, interleaved) can be drawn.
const byKey = ({ message }: PartitionerArgs) => Number(message.key);

describe('kafkajs, as patches/kafkajs+2.2.4.patch leaves it', () => {
  it('is installed with the patch (npm ci runs patch-package)', () => {
    const path = createRequire(import.meta.url).resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
    const source = readFileSync(path, 'utf8');
    expect(source).toContain("Surge's patch");
    expect(source).not.toContain('[...current, message]');
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
