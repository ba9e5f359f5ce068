import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../../../functions/shared/errors';
import { parseMskEvent } from '../../../../functions/shared/msk/event';
import { buildMskEvent } from '../../../../local/msk-event';

describe('parseMskEvent', () => {
  it('flattens records by topic-partition in offset order, decoding key, value and headers', () => {
    const event = buildMskEvent([
      { partition: 1, offset: 4, key: 'b', value: Buffer.from([1]) },
      { partition: 0, offset: 9, key: 'a', value: Buffer.from([2]), headers: [{ trace: 'abc' }] },
      { partition: 1, offset: 3, key: null, value: null },
    ]);
    const records = parseMskEvent(event);
    expect(records.map((r) => [r.partition, r.offset])).toEqual([
      [1, 3],
      [1, 4],
      [0, 9],
    ]);
    expect(records[0]).toMatchObject({ key: null, value: null });
    expect(records[2]?.value).toEqual(Buffer.from([2]));
    expect(records[2]?.headers).toEqual([{ trace: [97, 98, 99] }]);
  });

  it('accepts events of self-managed Kafka', () => {
    const event = {
      ...buildMskEvent([{ offset: 0, value: Buffer.from([0]) }]),
      eventSource: 'SelfManagedKafka',
    };
    expect(parseMskEvent(event)).toHaveLength(1);
  });

  it.each([
    ['null', null, /expected an object/],
    ['an SQS event', { Records: [{ eventSource: 'aws:sqs' }] }, /eventSource must be "aws:kafka"/],
    ['records as an array', { eventSource: 'aws:kafka', records: [] }, /records must be an object/],
    [
      'a partition that is not a list',
      { eventSource: 'aws:kafka', records: { 'iot-data-0': {} } },
      /must be an array/,
    ],
    [
      'a record without an offset',
      { eventSource: 'aws:kafka', records: { 'iot-data-0': [{ topic: 'iot-data', partition: 0 }] } },
      /offset must be a non-negative integer/,
    ],
    [
      'a value that is not base64 text',
      {
        eventSource: 'aws:kafka',
        records: { 'iot-data-0': [{ topic: 'iot-data', partition: 0, offset: 1, value: 5 }] },
      },
      /value must be a base64 string/,
    ],
  ])('rejects %s with a message that says what is wrong', (_case, event, message) => {
    expect(() => parseMskEvent(event)).toThrow(InvalidEventError);
    expect(() => parseMskEvent(event)).toThrow(message);
  });
});
