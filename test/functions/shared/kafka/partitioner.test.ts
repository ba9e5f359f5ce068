import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { javaCompatiblePartitioner, murmur2 } from '../../../../functions/shared/kafka/partitioner';

const metadata = (n: number) =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
    offlineReplicas: [],
  }));

describe('javaCompatiblePartitioner', () => {
  it('places every key where kafkajs (and the Java client) would', () => {
    const ours = javaCompatiblePartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    const keys: (string | Buffer)[] = [
      '',
      'a',
      'ab',
      'abc',
      'abcd',
      'sensor-00042',
      'é-device',
      ...Array.from({ length: 2_000 }, (_, i) => `device-${i}-${'x'.repeat(i % 7)}`),
      ...Array.from({ length: 500 }, (_, i) => randomBytes(i % 40)),
    ];
    for (const partitions of [1, 6, 24, 100]) {
      const partitionMetadata = metadata(partitions);
      for (const key of keys) {
        const args = { topic: 't', partitionMetadata, message: { key, value: null } };
        expect(ours(args)).toBe(theirs(args));
      }
    }
  });

  it('matches the Java client on published murmur2 values', () => {
    // org.apache.kafka.common.utils.Utils.murmur2 of "21" and "foobar", as Kafka's own tests list them.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
  });

  it('honours an explicit partition and spreads keyless messages over partitions with a leader', () => {
    const partitioner = javaCompatiblePartitioner();
    const partitionMetadata = [
      ...metadata(3),
      { partitionErrorCode: 0, partitionId: 3, leader: -1, replicas: [], isr: [], offlineReplicas: [] },
    ];
    expect(
      partitioner({ topic: 't', partitionMetadata, message: { key: 'k', value: null, partition: 2 } }),
    ).toBe(2);
    const seen = new Set(
      Array.from({ length: 30 }, () =>
        partitioner({ topic: 't', partitionMetadata, message: { value: null } }),
      ),
    );
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });
});
