import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMskEvent } from '../../functions/shared/msk/event';
import { encodeReading, httpRequest, mskEvent, reading, startTestbed, TestingKitError } from '../../testing';
import { registry } from '../support/records';

describe("the testing kit's builders", () => {
  it('builds a valid reading with defaults and the overrides given', () => {
    const r = reading({ deviceId: 'pump-7', temperature: 95 });
    expect(r).toMatchObject({ deviceId: 'pump-7', temperature: 95, status: 'OK', location: null });
    expect(Math.abs(r.ts - Date.now())).toBeLessThan(60_000);
  });

  it.each([
    [() => reading({ temp: 3 } as never), /reading\(\) got unknown field "temp"; a reading has deviceId, ts/],
    [() => reading('dev-1' as never), /reading\(\) takes an object of fields to override, got "dev-1"/],
    [
      () => encodeReading(reading(), 'avro-v3' as never),
      /encodeReading\(\) takes one of avro-v2, avro-v1, json, got "avro-v3"/,
    ],
    [
      () => encodeReading(reading({ temperature: 'hot' as never })),
      /encodeReading\(\) cannot encode .* as avro-v2/,
    ],
    [
      () => mskEvent(reading() as never),
      /mskEvent\(\) takes an array of readings, Buffers, nulls or records, got an object/,
    ],
    [
      () => mskEvent([reading(), 42 as never]),
      /mskEvent\(\) item 1 is number 42; expected a reading \(from reading\(\)\), a Buffer, null, or \{ value/,
    ],
    [
      () => mskEvent([], { startOffset: -1 }),
      /startOffset that is a whole number of 0 or more, got number -1/,
    ],
    [
      () => httpRequest('/devices/dev-1'),
      /httpRequest\(\) takes "METHOD \/path", e.g. "GET \/devices\/dev-1", got "\/devices\/dev-1"/,
    ],
    [() => httpRequest('FETCH /x'), /got "FETCH \/x"/],
  ])('says what it expected when given the wrong thing (%#)', (call, message) => {
    expect(call).toThrow(TestingKitError);
    expect(call).toThrow(message);
  });

  it('builds an MSK event as the mapping delivers it: one topic-partition, consecutive offsets, keyed readings', () => {
    const hot = reading({ deviceId: 'a', temperature: 90 });
    const event = mskEvent(
      [hot, Buffer.from('junk'), null, { value: reading({ deviceId: 'b' }), key: 'k', encoding: 'json' }],
      {
        partition: 4,
        startOffset: 10,
      },
    );
    expect(Object.keys(event.records)).toEqual(['iot-data-4']);
    const records = parseMskEvent(event);
    expect(records.map((r) => [r.partition, r.offset, r.key?.toString() ?? null])).toEqual([
      [4, 10, 'a'],
      [4, 11, null],
      [4, 12, null],
      [4, 13, 'k'],
    ]);
    const decoded = registry.decodeFramed(2, records[0]?.value as Buffer, 'surge.iot.Telemetry');
    expect(decoded).toMatchObject({ ok: true, value: { deviceId: 'a', temperature: 90 } });
    expect(records[2]?.value).toBeNull();
    expect(JSON.parse(String(records[3]?.value)).deviceId).toBe('b');
  });

  it('builds an empty event from no items, as a mapping never sends but a handler must take', () => {
    expect(parseMskEvent(mskEvent([]))).toEqual([]);
  });

  it.each([0, 101, 2.5])(
    'refuses a testbed of %s partitions before starting any server',
    async (partitions) => {
      await expect(startTestbed({ partitions })).rejects.toThrow(
        `startTestbed() takes partitions from 1 to 100, got number ${partitions}`,
      );
    },
  );

  it('encodes a reading as schema version 1 without its firmware', () => {
    const bytes = encodeReading(reading({ firmware: '9.9' }), 'avro-v1');
    expect(bytes.readUInt32BE(1)).toBe(1);
    expect(registry.decodeFramed(1, bytes, 'surge.iot.Telemetry')).toMatchObject({
      ok: true,
      value: { firmware: 'unknown' },
    });
  });

  it('builds an API Gateway event from "METHOD /path?query"', () => {
    const event = httpRequest('GET /devices/dev-1/windows?from=1&to=2');
    expect(event).toMatchObject({
      rawPath: '/devices/dev-1/windows',
      queryStringParameters: { from: '1', to: '2' },
      requestContext: { http: { method: 'GET' } },
    });
  });
});

describe("the README's test", () => {
  it('is examples/readme.test.ts, word for word, so that the snippet users copy is one that runs', () => {
    const root = join(import.meta.dirname, '../..');
    const example = readFileSync(join(root, 'examples/readme.test.ts'), 'utf8').trim();
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\n\`\`\``);
  });
});
