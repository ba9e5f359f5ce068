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
  ])('rejects %s with a message that says what is wrong', (_case, event, message) => {
    expect(() => parseMskEvent(event)).toThrow(InvalidEventError);
    expect(() => parseMskEvent(event)).toThrow(message);
  });

  it.each([
    ['a value that is not base64 text', { value: 5 }, /value must be base64 text/],
    ['a key that is not base64 text', { key: { a: 1 } }, /key must be base64 text/],
    ['headers that are not an array', { headers: 'x' }, /headers must be an array/],
    ['a null header entry', { headers: [null] }, /headers\[0\] must be an object of byte arrays/],
    ['a header entry that is an array', { headers: [[1, 2]] }, /headers\[0\] must be an object/],
    [
      'a header value that is not bytes',
      { headers: [{ a: [1] }, { b: 'text' }] },
      /headers\[1\]\.b must be an array of bytes/,
    ],
    ['a header byte out of range', { headers: [{ a: [300] }] }, /headers\[0\]\.a must be an array of bytes/],
  ])(
    'keeps %s as a record to quarantine, naming what is wrong, beside the good records',
    (_case, fields, problem) => {
      const good = {
        topic: 'iot-data',
        partition: 0,
        offset: 1,
        value: Buffer.from('ok').toString('base64'),
      };
      const records = parseMskEvent({
        eventSource: 'aws:kafka',
        records: { 'iot-data-0': [good, { topic: 'iot-data', partition: 0, offset: 2, ...fields }] },
      });
      expect(records).toHaveLength(2);
      expect(records[0]?.problem).toBeUndefined();
      expect(records[0]?.value?.toString()).toBe('ok');
      expect(records[1]?.problem).toMatch(problem);
      expect(records[1]?.headers).toEqual([]);
    },
  );

  it('keeps repeated and signed header bytes as they came', () => {
    const [record] = parseMskEvent({
      eventSource: 'aws:kafka',
      records: {
        'iot-data-0': [
          { topic: 'iot-data', partition: 0, offset: 1, headers: [{ a: [1] }, { a: [-1, 255] }] },
        ],
      },
    });
    expect(record?.problem).toBeUndefined();
    expect(record?.headers).toEqual([{ a: [1] }, { a: [-1, 255] }]);
  });
});
