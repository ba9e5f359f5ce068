import { encode as encodeMessagePack } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SummaryEncoder } from '../../../functions/analytics/summary-encoder';
import type { DeviceState } from '../../../functions/domain/model';
import { SCHEMA_IDS, SchemaRegistry } from '../../../functions/shared/avro/schema-registry';
import { BinaryWriter } from '../../../functions/shared/redis/binary';
import {
  STATE_NUMBERS,
  STATE_VERSION,
  STATE_VERSION_ARCHIVED_ONLY,
  STATUS_CODES,
} from '../../../functions/shared/redis/layout';
import { writeLastReading } from '../../../functions/shared/redis/state-codec';
import { AnsweredStateList } from '../../../functions/shared/redis/state-view';
import { registry } from '../../support/records';

const TOPIC = 'processed-data';
const transcoding = new SummaryEncoder(registry, TOPIC);
const throughAvsc = new SummaryEncoder(registry, TOPIC, false);

type Numbers = Record<(typeof STATE_NUMBERS)[number][0], number>;

/**
 * A stored state as the device script and the merge write it: the numbers, the last reading, then
 * what follows it. `firmwareBytes` stands for the firmware's UTF-8 bytes no writer of Surge's makes
 * (invalid UTF-8 among them), with a location flag other than 0 or 1 when there is no location.
 */
function storedState(
  numbers: Numbers,
  last: DeviceState['last'],
  version: number,
  trailing: Uint8Array,
  firmwareBytes?: Uint8Array,
): Buffer {
  const out = new BinaryWriter().u8(version);
  for (const [name] of STATE_NUMBERS) out.f64(numbers[name]);
  if (firmwareBytes === undefined) writeLastReading(out, last);
  else {
    // LAST_READING_FORMAT (layout.ts) written out here.
    const sized = out.beginSized();
    out.f64(last.ts).f64(last.temperature).f64(last.humidity).f64(last.battery).u8(STATUS_CODES[last.status]);
    if (last.location === null)
      out
        .u8(firmwareBytes.length + 2)
        .f64(0)
        .f64(0);
    else out.u8(1).f64(last.location.lat).f64(last.location.lon);
    out.u16(firmwareBytes.length).raw(Buffer.from(firmwareBytes)).endSized(sized);
  }
  return Buffer.concat([out.take(), trailing]);
}

/** Each state's summary, or the class and message of the error encoding it raised. */
function encodeEach(encoder: SummaryEncoder, ids: string[], values: Buffer[]) {
  return values.map((value, i) => {
    const states = new AnsweredStateList();
    states.add(ids[i] as string, value, 0, value.length);
    try {
      const [message] = encoder.messages(states);
      return { key: message?.key, value: message?.value };
    } catch (error) {
      return { error: `${(error as Error).constructor.name}: ${(error as Error).message}` };
    }
  });
}

const double = fc.oneof(
  fc.double(),
  fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.integer(),
);
/** What a long field may hold: usually an integer (a count, a timestamp), sometimes what avsc refuses. */
const longish = fc.oneof(
  { weight: 6, arbitrary: fc.maxSafeInteger() },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 ** 31 }) },
  { weight: 1, arbitrary: double },
);
const numbers: fc.Arbitrary<Numbers> = fc.record(
  Object.fromEntries(
    STATE_NUMBERS.map(([name, rule]) => [
      name,
      rule === 'sum' || name === 'firstTs' || name === 'lastTs' ? longish : double,
    ]),
  ) as Record<keyof Numbers, fc.Arbitrary<number>>,
);
const last: fc.Arbitrary<DeviceState['last']> = fc.record({
  ts: longish,
  temperature: double,
  humidity: double,
  battery: double,
  status: fc.constantFrom('OK', 'WARN', 'FAIL'),
  location: fc.option(fc.record({ lat: double, lon: double })),
  firmware: fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })),
});
const storedStates = fc.record({
  deviceId: fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
    fc.string({ unit: 'grapheme', minLength: 1 }),
  ),
  numbers,
  last,
  version: fc.constantFrom(STATE_VERSION, STATE_VERSION_ARCHIVED_ONLY),
  trailing: fc.uint8Array({ maxLength: 40 }),
  firmwareBytes: fc.option(fc.uint8Array({ maxLength: 24 }), { freq: 4, nil: undefined }),
});

describe('SummaryEncoder', () => {
  it('transcodes the schema it was written for, and leaves summaries to avsc when told to', () => {
    expect(transcoding.transcodes).toBe(true);
    expect(throughAvsc.transcodes).toBe(false);
  });

  it('writes the bytes avsc writes for any stored state, or refuses it as avsc does', () => {
    fc.assert(
      fc.property(fc.array(storedStates, { minLength: 1, maxLength: 8 }), (states) => {
        const ids = states.map((s) => s.deviceId);
        const values = states.map((s) =>
          storedState(s.numbers, s.last, s.version, s.trailing, s.firmwareBytes),
        );
        expect(encodeEach(transcoding, ids, values)).toEqual(encodeEach(throughAvsc, ids, values));
        // All of them at once, as a store call answers them, where none is refused.
        const list = new AnsweredStateList();
        values.forEach((value, i) => {
          list.add(ids[i] as string, value, 0, value.length);
        });
        let expected: unknown;
        try {
          expected = throughAvsc.messages(list);
        } catch {
          return;
        }
        expect(transcoding.messages(list)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('reads what it writes back as the state avsc would have summarized', () => {
    const list = new AnsweredStateList();
    const numbersOf: Numbers = {
      count: 4,
      temperatureMin: -3.5,
      temperatureMax: 41.25,
      temperatureSum: 60,
      humidityMin: 10,
      humidityMax: 90,
      humiditySum: 200,
      batteryMin: 12.5,
      statusOk: 2,
      statusWarn: 1,
      statusFail: 1,
      firstTs: 1_764_000_000_000,
      lastTs: 1_764_000_003_000,
      lastOffset: 41,
    };
    const lastOf: DeviceState['last'] = {
      ts: 1_764_000_003_000,
      temperature: 41.25,
      humidity: 55,
      battery: 80,
      status: 'FAIL',
      location: { lat: 52.52, lon: 13.405 },
      firmware: 'fw-2.1.0',
    };
    const value = storedState(numbersOf, lastOf, STATE_VERSION, new Uint8Array());
    list.add('pump-7', value, 0, value.length);
    const [message] = transcoding.messages(list);
    expect(message?.key).toBe('pump-7');
    expect(message?.topic).toBe(TOPIC);
    const decoded = registry.decodeFramed(
      SCHEMA_IDS.deviceSummary,
      message?.value as Buffer,
      'surge.iot.DeviceSummary',
    );
    expect(decoded).toEqual({
      ok: true,
      value: {
        id: 'pump-7@4',
        deviceId: 'pump-7',
        count: 4,
        firstTs: 1_764_000_000_000,
        lastTs: 1_764_000_003_000,
        temperature: { min: -3.5, max: 41.25, mean: 15 },
        humidity: { min: 10, max: 90, mean: 50 },
        battery: { min: 12.5, last: 80 },
        status: { OK: 2, WARN: 1, FAIL: 1 },
        last: lastOf,
      },
    });
  });

  it('gives each summary its own bytes when a call outgrows the encoder`s buffer', () => {
    const list = new AnsweredStateList();
    const values: Buffer[] = [];
    for (let i = 0; i < 6; i++) {
      const value = storedState(
        {
          ...Object.fromEntries(STATE_NUMBERS.map(([name]) => [name, i + 1])),
          firstTs: 1,
          lastTs: 2,
        } as Numbers,
        {
          ts: 2,
          temperature: 1,
          humidity: 1,
          battery: 1,
          status: 'OK',
          location: null,
          firmware: `${i}`.repeat(9_000),
        },
        STATE_VERSION,
        new Uint8Array(),
      );
      values.push(value);
      list.add(`big-${i}`, value, 0, value.length);
    }
    const fresh = new SummaryEncoder(registry, TOPIC);
    const messages = fresh.messages(list);
    expect(messages.map((m) => m.value)).toEqual(throughAvsc.messages(list).map((m) => m.value));
    expect(messages.map((m) => m.key)).toEqual(values.map((_, i) => `big-${i}`));
  });

  it('summarizes a state of format 1 (MessagePack last reading) through avsc, as it always has', () => {
    const out = new BinaryWriter().u8(1);
    for (const [, rule] of STATE_NUMBERS) out.f64(rule === 'sum' ? 3 : 7);
    const lastReading = encodeMessagePack([7, 21.5, 40, 90, 'WARN', [1.5, 2.5], 'fw-1']);
    out.u16(lastReading.length).raw(Buffer.from(lastReading));
    const value = out.take();
    const list = new AnsweredStateList();
    list.add('old-format', value, 0, value.length);
    const [message] = transcoding.messages(list);
    expect(message?.value).toEqual(throughAvsc.messages(list)[0]?.value);
    const decoded = registry.decodeFramed<DeviceState>(
      SCHEMA_IDS.deviceSummary,
      message?.value as Buffer,
      'surge.iot.DeviceSummary',
    );
    expect(decoded.ok && decoded.value.last.firmware).toBe('fw-1');
  });

  it('refuses a cut, unknown or spoiled stored state with a RedisError naming the device, as the decoder does', () => {
    const good = storedState(
      Object.fromEntries(STATE_NUMBERS.map(([name]) => [name, 1])) as Numbers,
      { ts: 1, temperature: 1, humidity: 1, battery: 1, status: 'OK', location: null, firmware: 'fw' },
      STATE_VERSION,
      new Uint8Array(),
    );
    const spoiled = [
      good.subarray(0, 10),
      good.subarray(0, good.length - 1),
      Buffer.concat([Buffer.from([9]), good.subarray(1)]),
      Buffer.from(good).fill(7, 1 + 8 * STATE_NUMBERS.length + 2 + 32, 1 + 8 * STATE_NUMBERS.length + 2 + 33),
      Buffer.alloc(0),
    ];
    for (const value of spoiled) {
      const [transcoded] = encodeEach(transcoding, ['broken'], [value]);
      expect(transcoded?.error).toMatch(/^RedisError: device broken has unreadable aggregates/);
      expect(encodeEach(throughAvsc, ['broken'], [value])[0]?.error).toMatch(
        /^RedisError: device broken has unreadable aggregates/,
      );
    }
  });

  it('leaves a changed summary schema to avsc', () => {
    const changed = SchemaRegistry.fromDirectory();
    const manifest = [
      { id: SCHEMA_IDS.deviceSummary, name: 'surge.iot.DeviceSummary', version: 1, file: 'x' },
    ];
    const schema = JSON.parse(JSON.stringify(changed.typeOf(SCHEMA_IDS.deviceSummary).schema()));
    schema.fields.push({ name: 'site', type: 'string', default: '' });
    const other = new SchemaRegistry(manifest, () => schema);
    expect(new SummaryEncoder(other, TOPIC).transcodes).toBe(false);
  });
});
