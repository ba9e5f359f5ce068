import { Tap } from 'avsc/lib/utils.js';
import { CONFLUENT_MAGIC, SCHEMA_IDS, type SchemaRegistry } from '../shared/avro/schema-registry';
import type { OutboundMessage } from '../shared/kafka/publisher';
import { type AnsweredStates, StateView } from '../shared/redis/analytics-store';
import { STATUS_CODES } from '../shared/redis/layout';
import { summaryId, summaryMessage } from './outputs';

/**
 * Device summaries (schemas/device-summary-v1.avsc) for the states a store call answered, written
 * straight from the stored bytes (StateView) with avsc's own primitive encodings (its Tap), in the
 * schema's field order, instead of decoding a DeviceState and encoding it with avsc: the same bytes
 * (test/functions/analytics/summary-encoder.test.ts holds it to that over arbitrary states), and
 * all of a call's summaries in one buffer. Why: in a fleet batch (a reading per device) the decode
 * and encode of a summary were a sixth of what a device cost Node.js (docs/performance.md,
 * session 12). The escape hatch is SUMMARY_TRANSCODING=false; a schema other than the one written
 * for here, or a state this writer would not encode as avsc does, takes the avsc path by itself.
 */

/** The schema's Parsing Canonical Form (SHA-256) this writer follows field by field. */
export const TRANSCODED_SUMMARY_FINGERPRINT =
  'd87ec7d1a6b5aeca907c6252da978424f25c826caeead12f261ae7a0e9a37c4d';

/** The longs avsc encodes (its isSafeLong): anything else it refuses, so this writer leaves it to avsc. */
const MAX_LONG = 9007199254740990;

/** The schema's index of each stored status code: its Status symbols are OK, WARN, FAIL (the fingerprint holds them). */
const STATUS_SYMBOLS = ['OK', 'WARN', 'FAIL'] as const;
const STATUS_INDEX: number[] = [];
for (const [name, code] of Object.entries(STATUS_CODES))
  STATUS_INDEX[code] = STATUS_SYMBOLS.indexOf(name as keyof typeof STATUS_CODES);

const HEADER = Buffer.from([CONFLUENT_MAGIC, 0, 0, 0, 0]);
HEADER.writeUInt32BE(SCHEMA_IDS.deviceSummary, 1);

function isLong(n: number): boolean {
  return Number.isInteger(n) && n >= -MAX_LONG && n <= MAX_LONG;
}

export class SummaryEncoder {
  private scratch = Buffer.allocUnsafe(16_384);
  private readonly view = new StateView();
  private readonly transcoding: boolean;

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly topic: string,
    /** @default true */
    transcoding = true,
  ) {
    this.transcoding =
      transcoding &&
      registry.typeOf(SCHEMA_IDS.deviceSummary).fingerprint('sha256').toString('hex') ===
        TRANSCODED_SUMMARY_FINGERPRINT;
  }

  /** Whether summaries are written from the stored bytes (false: through avsc). */
  get transcodes(): boolean {
    return this.transcoding;
  }

  /** The summaries of `states`, in their order. */
  messages(states: AnsweredStates): OutboundMessage[] {
    const { topic, registry } = this;
    const out: OutboundMessage[] = new Array(states.size);
    if (!this.transcoding) {
      for (let i = 0; i < states.size; i++) out[i] = summaryMessage(states.state(i), topic, registry);
      return out;
    }
    const ends = new Int32Array(states.size);
    let tap = new Tap(this.scratch, 0);
    for (let i = 0; i < states.size; i++) {
      const start = tap.pos;
      if (!(states.view(i, this.view) && this.write(tap, states.deviceId(i)))) {
        tap.pos = start;
        tap.writeFixed(summaryMessage(states.state(i), topic, registry).value as Buffer);
      }
      if (!tap.isValid()) {
        // Ran past the scratch: a larger one, and this summary again.
        const larger = Buffer.allocUnsafe(Math.max(2 * this.scratch.length, 2 * (tap.pos - start) + start));
        this.scratch.copy(larger, 0, 0, start);
        this.scratch = larger;
        tap = new Tap(larger, start);
        i--;
        continue;
      }
      ends[i] = tap.pos;
    }
    const bytes = Buffer.from(this.scratch.subarray(0, tap.pos));
    let from = 0;
    for (let i = 0; i < states.size; i++) {
      const to = ends[i] as number;
      out[i] = { topic, key: states.deviceId(i), value: bytes.subarray(from, to) };
      from = to;
    }
    return out;
  }

  /** The framed summary of the state in `this.view`, in the schema's order; false where avsc must write it. */
  private write(tap: Tap, deviceId: string): boolean {
    const v = this.view;
    const count = v.number('count');
    const firstTs = v.number('firstTs');
    const lastTs = v.number('lastTs');
    const ok = v.number('statusOk');
    const warn = v.number('statusWarn');
    const fail = v.number('statusFail');
    const ts = v.lastTs;
    if (
      !(
        isLong(count) &&
        isLong(firstTs) &&
        isLong(lastTs) &&
        isLong(ok) &&
        isLong(warn) &&
        isLong(fail) &&
        isLong(ts)
      )
    )
      return false;
    tap.writeFixed(HEADER);
    tap.writeString(summaryId(deviceId, count));
    tap.writeString(deviceId);
    tap.writeLong(count);
    tap.writeLong(firstTs);
    tap.writeLong(lastTs);
    tap.writeDouble(v.number('temperatureMin'));
    tap.writeDouble(v.number('temperatureMax'));
    tap.writeDouble(v.number('temperatureSum') / count);
    tap.writeDouble(v.number('humidityMin'));
    tap.writeDouble(v.number('humidityMax'));
    tap.writeDouble(v.number('humiditySum') / count);
    tap.writeDouble(v.number('batteryMin'));
    tap.writeDouble(v.lastBattery);
    tap.writeLong(ok);
    tap.writeLong(warn);
    tap.writeLong(fail);
    tap.writeLong(ts);
    tap.writeDouble(v.lastTemperature);
    tap.writeDouble(v.lastHumidity);
    tap.writeDouble(v.lastBattery);
    tap.writeLong(STATUS_INDEX[v.lastStatusCode] as number);
    if (v.hasLocation) {
      tap.writeLong(1);
      tap.writeDouble(v.lat);
      tap.writeDouble(v.lon);
    } else tap.writeLong(0);
    return this.writeFirmware(tap);
  }

  /** The firmware as avsc writes its string: ASCII bytes as they are stored, anything else decoded and encoded again. */
  private writeFirmware(tap: Tap): boolean {
    const v = this.view;
    const bytes = v.buffer;
    const from = v.firmwareFrom;
    const length = v.firmwareTo - from;
    const start = tap.pos;
    tap.writeLong(length);
    const at = tap.pos;
    tap.pos += length;
    if (tap.pos > tap.buf.length) return true; // the caller grows the scratch and comes back
    const buf = tap.buf;
    for (let i = 0; i < length; i++) {
      const byte = bytes[from + i] as number;
      if (byte >= 0x80) {
        tap.pos = start;
        tap.writeString(bytes.toString('utf8', from, from + length));
        return true;
      }
      buf[at + i] = byte;
    }
    return true;
  }
}
