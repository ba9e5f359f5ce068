import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { loadKafkaSettings } from '../../functions/shared/config';
import { ConfigurationError } from '../../functions/shared/errors';
import { mergeRanges, replayFailedRanges } from '../../ops/replay-failed';

describe('the ranges a replay reads', () => {
  it('joins overlapping, touching and contained ranges of a partition, whatever their order, and keeps gaps', () => {
    const ranges = [
      { from: 50, to: 60 },
      { from: 0, to: 9 },
      { from: 10, to: 19 }, // touches the one before
      { from: 5, to: 7 }, // inside one
      { from: 15, to: 30 }, // overlaps
      { from: 32, to: 40 }, // after a gap of one offset
    ];
    expect(mergeRanges(ranges)).toEqual([
      { from: 0, to: 30 },
      { from: 32, to: 40 },
      { from: 50, to: 60 },
    ]);
    // The input is left as it was.
    expect(ranges[0]).toEqual({ from: 50, to: 60 });
  });

  it('reads nothing and reports nothing for a file without documents', async () => {
    const untouched = new Proxy({} as Kafka, {
      get: () => {
        throw new Error('an empty file must not reach Kafka');
      },
    });
    const outcome = await replayFailedRanges(
      { documents: [] },
      {
        kafka: untouched,
        processor: () => {
          throw new Error('an empty file must not reach the processor');
        },
      },
    );
    expect(outcome).toEqual({ documents: 0, unreadable: [], partitions: [] });
  });
});

describe('KAFKA_LEAN_ENCODER', () => {
  it.each(['maybe', 'off', '2'])('refuses %j, naming the variable', (value) => {
    expect(() => loadKafkaSettings({ KAFKA_LEAN_ENCODER: value })).toThrow(ConfigurationError);
    expect(() => loadKafkaSettings({ KAFKA_LEAN_ENCODER: value })).toThrow(
      `KAFKA_LEAN_ENCODER must be true or false, got "${value}"`,
    );
  });
});
