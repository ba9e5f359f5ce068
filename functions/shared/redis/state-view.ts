import type { DeviceState } from '../../domain/model';
import { RedisError } from '../errors';
import { BinaryFormatError, BinaryReader } from './binary';
import { STATE_NUMBERS, STATE_VERSION, STATE_VERSION_ARCHIVED_ONLY, type StateNumber } from './layout';
import { parseDeviceState } from './state-codec';

/**
 * Device states as the store answered them, read where they lie: a batch's summaries are encoded
 * straight from these bytes (functions/analytics/summary-encoder.ts) instead of through a
 * DeviceState each, which was a sixth of what a fleet device cost Node.js (docs/performance.md,
 * session 12). `state(i)` still decodes one whole.
 */

const AT = Object.fromEntries(STATE_NUMBERS.map(([name], i) => [name, 1 + 8 * i])) as Readonly<
  Record<StateNumber, number>
>;
/** Version, the numbers, and the last reading's u16 length. */
const HEAD_BYTES = 1 + 8 * STATE_NUMBERS.length + 2;
/** LAST_READING_FORMAT up to the firmware's bytes: four doubles, status, location flag, two doubles, u16. */
const LAST_FIXED_BYTES = 4 * 8 + 2 + 2 * 8 + 2;
const EMPTY = Buffer.alloc(0);

/**
 * One stored state read in place (DEVICE_VALUE in layout.ts, up to the watermarks), repositioned
 * for every state it reads. It checks what parseDeviceState checks, so a state one can read the
 * other reads alike.
 */
export class StateView {
  private bytes: Buffer = EMPTY;
  private start = 0;
  private last = 0;
  private firmwareEnd = 0;

  /**
   * Reads the state at bytes `from` to `to` of `buffer`. False for a format only parseDeviceState
   * reads (format 1, whose last reading is MessagePack); BinaryFormatError when the bytes are not a state.
   */
  position(buffer: Buffer, from: number, to: number): boolean {
    if (from + HEAD_BYTES > to) throw new BinaryFormatError(`truncated record at byte ${from}`);
    const version = buffer[from];
    if (version !== STATE_VERSION && version !== STATE_VERSION_ARCHIVED_ONLY) {
      if (version === 1) return false;
      throw new BinaryFormatError(`state format ${version}, expected ${STATE_VERSION}`);
    }
    const last = from + HEAD_BYTES;
    const lastEnd = last + buffer.readUInt16BE(last - 2);
    if (lastEnd > to || last + LAST_FIXED_BYTES > lastEnd)
      throw new BinaryFormatError(`truncated record at byte ${last}`);
    if ((buffer[last + 32] as number) > 2) throw new BinaryFormatError('unknown status code');
    const firmwareEnd = last + LAST_FIXED_BYTES + buffer.readUInt16BE(last + LAST_FIXED_BYTES - 2);
    if (firmwareEnd > lastEnd) throw new BinaryFormatError(`truncated record at byte ${last}`);
    this.bytes = buffer;
    this.start = from;
    this.last = last;
    this.firmwareEnd = firmwareEnd;
    return true;
  }

  number(name: StateNumber): number {
    return this.bytes.readDoubleBE(this.start + AT[name]);
  }

  get lastTs(): number {
    return this.bytes.readDoubleBE(this.last);
  }

  get lastTemperature(): number {
    return this.bytes.readDoubleBE(this.last + 8);
  }

  get lastHumidity(): number {
    return this.bytes.readDoubleBE(this.last + 16);
  }

  get lastBattery(): number {
    return this.bytes.readDoubleBE(this.last + 24);
  }

  /** STATUS_CODES (layout.ts) of the last reading. */
  get lastStatusCode(): number {
    return this.bytes[this.last + 32] as number;
  }

  get hasLocation(): boolean {
    return this.bytes[this.last + 33] === 1;
  }

  get lat(): number {
    return this.bytes.readDoubleBE(this.last + 34);
  }

  get lon(): number {
    return this.bytes.readDoubleBE(this.last + 42);
  }

  /** The buffer the firmware's UTF-8 bytes lie in, from firmwareFrom to firmwareTo. */
  get buffer(): Buffer {
    return this.bytes;
  }

  get firmwareFrom(): number {
    return this.last + LAST_FIXED_BYTES;
  }

  get firmwareTo(): number {
    return this.firmwareEnd;
  }
}

/** What the store delivers as a part of a batch is applied: the states of its devices. */
export interface AnsweredStates {
  readonly size: number;
  deviceId(i: number): string;
  /** The i-th state, decoded. */
  state(i: number): DeviceState;
  /**
   * The i-th state in `view`, read in place; false when its format is one only `state(i)` reads.
   * Throws RedisError when the stored bytes are not a state.
   */
  view(i: number, view: StateView): boolean;
}

/** The states a device-script call answered: references into its reply and into what it sent. */
export class AnsweredStateList implements AnsweredStates {
  private readonly ids: string[] = [];
  private readonly buffers: Buffer[] = [];
  private readonly ranges: number[] = [];

  add(deviceId: string, buffer: Buffer, from: number, to: number): void {
    this.ids.push(deviceId);
    this.buffers.push(buffer);
    this.ranges.push(from, to);
  }

  get size(): number {
    return this.ids.length;
  }

  deviceId(i: number): string {
    return this.ids[i] as string;
  }

  state(i: number): DeviceState {
    const reader = new BinaryReader(this.buffers[i] as Buffer, this.ranges[2 * i], this.ranges[2 * i + 1]);
    return parseDeviceState(this.deviceId(i), reader) as DeviceState;
  }

  view(i: number, view: StateView): boolean {
    try {
      return view.position(
        this.buffers[i] as Buffer,
        this.ranges[2 * i] as number,
        this.ranges[2 * i + 1] as number,
      );
    } catch (cause) {
      throw new RedisError(
        `device ${this.deviceId(i)} has unreadable aggregates: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
  }
}

/** Every state of `states`, decoded. */
export function decodedStates(states: AnsweredStates): DeviceState[] {
  return Array.from({ length: states.size }, (_, i) => states.state(i));
}
