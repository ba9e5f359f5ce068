import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deviceDelta, partitionDelta } from '../../../functions/analytics/aggregate';
import type { AcceptedRecord, Classified } from '../../../functions/analytics/decode';
import { windowStart } from '../../../functions/domain/deltas';
import type { Telemetry } from '../../../functions/domain/telemetry';
import { telemetry } from '../../support/records';

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

function accepted(reading: Telemetry, offset: number, partition = 0): AcceptedRecord & { accepted: true } {
  return {
    accepted: true,
    reading,
    source: { topic: 'iot-data', partition, offset, timestamp: 0, key: null, value: null, headers: [] },
  };
}

describe('deviceDelta', () => {
  it('folds readings into counts, extremes, sums and minute windows', () => {
    const records = [
      accepted(telemetry({ ts: T0 + 1_000, temperature: 20, humidity: 30, battery: 80, status: 'OK' }), 10),
      accepted(telemetry({ ts: T0 + 2_000, temperature: 25, humidity: 50, battery: 79, status: 'WARN' }), 11),
      accepted(
        telemetry({ ts: T0 + 61_000, temperature: 10, humidity: 40, battery: 81, status: 'FAIL' }),
        12,
      ),
    ];
    expect(deviceDelta('dev-1', records)).toMatchObject({
      count: 3,
      temperature: { min: 10, max: 25, sum: 55 },
      humidity: { min: 30, max: 50, sum: 120 },
      batteryMin: 79,
      status: { OK: 1, WARN: 1, FAIL: 1 },
      firstTs: T0 + 1_000,
      lastTs: T0 + 61_000,
      lastOffset: 12,
      segments: [{ topicPartition: 'iot-data-0', minOffset: 10, maxOffset: 12 }],
      windows: [
        { start: T0, count: 2, min: 20, max: 25, sum: 45 },
        { start: T0 + 60_000, count: 1, min: 10, max: 10, sum: 10 },
      ],
    });
  });

  it('finds each reading its segment and window in any order of partitions and minutes', () => {
    // Drawn as (partition, minute) pairs: one partition or several, interleaved or not, minutes
    // revisited; checked against a plain grouping of the same records.
    const draws = fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 5 })), {
      minLength: 1,
      maxLength: 40,
    });
    fc.assert(
      fc.property(draws, (pairs) => {
        const records = pairs.map(([partition, minute], i) =>
          accepted(telemetry({ ts: T0 + minute * 60_000 + i, temperature: i }), 100 + i, partition),
        );
        const delta = deviceDelta('dev-1', records);
        const segments = new Map<string, { topicPartition: string; minOffset: number; maxOffset: number }>();
        const windows = new Map<
          number,
          { start: number; count: number; min: number; max: number; sum: number }
        >();
        for (const { source, reading } of records) {
          const tp = `iot-data-${source.partition}`;
          const segment = segments.get(tp) ?? {
            topicPartition: tp,
            minOffset: source.offset,
            maxOffset: source.offset,
          };
          segment.maxOffset = source.offset;
          segments.set(tp, segment);
          const start = windowStart(reading.ts);
          const t = reading.temperature;
          const w = windows.get(start) ?? { start, count: 0, min: t, max: t, sum: 0 };
          w.count++;
          w.min = Math.min(w.min, t);
          w.max = Math.max(w.max, t);
          w.sum += t;
          windows.set(start, w);
        }
        expect(delta?.segments).toEqual([...segments.values()]);
        expect(delta?.windows).toEqual([...windows.values()]);
      }),
    );
  });

  it('takes as last the reading with the greatest ts, whatever the offset order', () => {
    const records = [
      accepted(telemetry({ ts: T0 + 5_000, temperature: 30 }), 1),
      accepted(telemetry({ ts: T0 + 1_000, temperature: 10 }), 2),
    ];
    expect(deviceDelta('dev-1', records)?.last.temperature).toBe(30);
  });

  it('breaks a tie on ts by the greater offset', () => {
    const records = [
      accepted(telemetry({ ts: T0, temperature: 30 }), 2),
      accepted(telemetry({ ts: T0, temperature: 10 }), 1),
    ];
    expect(deviceDelta('dev-1', records)).toMatchObject({ lastOffset: 2, last: { temperature: 30 } });
  });

  it('leaves out records at or below the watermark of their partition', () => {
    const records = [
      accepted(telemetry({ temperature: 1 }), 5, 0),
      accepted(telemetry({ temperature: 2 }), 6, 0),
      accepted(telemetry({ temperature: 3 }), 5, 1),
    ];
    const delta = deviceDelta('dev-1', records, new Map([['iot-data-0', 5]]));
    expect(delta).toMatchObject({ count: 2, temperature: { min: 2, max: 3, sum: 5 } });
    expect(delta?.segments).toEqual([
      { topicPartition: 'iot-data-0', minOffset: 6, maxOffset: 6 },
      { topicPartition: 'iot-data-1', minOffset: 5, maxOffset: 5 },
    ]);
  });

  it('is undefined when every record is at or below the watermark', () => {
    expect(deviceDelta('dev-1', [accepted(telemetry(), 5)], new Map([['iot-data-0', 5]]))).toBeUndefined();
  });
});

describe('partitionDelta', () => {
  it('counts valid and quarantined records above the watermark by reason', () => {
    const records: Classified[] = [
      accepted(telemetry(), 3),
      accepted(telemetry(), 4),
      { ...accepted(telemetry(), 5), accepted: false, reason: 'BAD_MAGIC', error: 'x' },
      { ...accepted(telemetry(), 6), accepted: false, reason: 'BAD_MAGIC', error: 'x' },
      { ...accepted(telemetry(), 7), accepted: false, reason: 'INVALID', error: 'x' },
    ];
    expect(partitionDelta('iot-data-0', records, 3)).toEqual({
      topicPartition: 'iot-data-0',
      minOffset: 4,
      maxOffset: 7,
      applied: 1,
      quarantined: { BAD_MAGIC: 2, INVALID: 1 },
    });
  });
});

describe('windowStart', () => {
  it('floors event time to the minute', () => {
    expect(windowStart(T0 + 59_999)).toBe(T0);
    expect(windowStart(T0 + 60_000)).toBe(T0 + 60_000);
  });
});
