import type { DeviceDelta } from '../../domain/deltas';
import { BinaryFormatError, BinaryReader, type BinaryWriter } from './binary';
import { DEVICE_MODE, STATE_NUMBERS, STATE_VERSION } from './layout';
import { DELTA_NUMBERS, writeLastReading, writeMinutes } from './state-codec';

/**
 * A delta merged into a device's head on the client: the device script's merge (device-script.ts)
 * of the state's numbers, the last reading and the watermarks, done by the store for a device whose
 * head it knows (known-heads.ts), so that Redis only compares the head and splices the minutes.
 * Why: that merge is most of what a device costs Redis, and a large fleet's batch is mostly
 * devices with one reading each (docs/performance.md, session 11).
 *
 * It takes only the common case: a head in the current format, a delta whose windows all fall in
 * the head's current bucket, and every segment above its watermark (APPLIED). Anything else goes
 * to the script as a delta, which decides as it always has.
 */

const RULES = STATE_NUMBERS.map(([, rule]) => rule);
const LAST_TS = STATE_NUMBERS.findIndex(([name]) => name === 'lastTs');
const LAST_OFFSET = STATE_NUMBERS.findIndex(([name]) => name === 'lastOffset');
const MAX_WATERMARKS = 64;

// Reused by every merge: merges are synchronous, so none overlap.
const stored = new Float64Array(STATE_NUMBERS.length);
const markAt = new Int32Array(MAX_WATERMARKS);
const markLength = new Int32Array(MAX_WATERMARKS);
const markOffset = new Float64Array(MAX_WATERMARKS);
const markOf = new Int32Array(MAX_WATERMARKS);
const segmentOfMark = new Int32Array(MAX_WATERMARKS);

// Lua's math.min(d, c) and math.max(d, c), as the script merges: the delta's value unless the stored
// one is smaller (larger). Math.min and Math.max differ on NaN and on 0 against -0.
function luaMin(d: number, c: number): number {
  // biome-ignore lint/complexity/useMathMinMax: Math.min is not Lua's math.min (NaN, -0)
  return c < d ? c : d;
}

function luaMax(d: number, c: number): number {
  // biome-ignore lint/complexity/useMathMinMax: Math.max is not Lua's math.max (NaN, -0)
  return c > d ? c : d;
}

/** Whether bytes `at`..`at + length` of `head` are the ASCII or UTF-8 string `text`. */
function sameText(head: Buffer, at: number, length: number, text: string): boolean {
  if (length !== text.length)
    return length === Buffer.byteLength(text) && head.toString('utf8', at, at + length) === text;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return head.toString('utf8', at, at + length) === text;
    if (head[at + i] !== code) return false;
  }
  return true;
}

/**
 * Writes the device's entry of a device-script call in DEVICE_MODE.merged (MERGED_HEAD in
 * layout.ts) when the delta merges into `known` as the common case, and returns where the new head
 * lies in what `out` will give (from, to); writes nothing and returns undefined otherwise. `known` is
 * a head: the state with its watermarks, then the current bucket's start.
 */
export function writeMergedHead(
  out: BinaryWriter,
  known: Buffer,
  delta: DeviceDelta,
  bucket: number,
): readonly [number, number] | undefined {
  if (delta.count <= 0) return undefined;
  // A head this container took from an answer or wrote itself; one it cannot read goes as a delta.
  const head = new BinaryReader(known);
  let lastAt: number;
  let marks: number;
  try {
    if (head.u8() !== STATE_VERSION) return undefined;
    for (let i = 0; i < stored.length; i++) stored[i] = head.f64();
    lastAt = head.at;
    head.skip(head.u16());
    marks = head.u16();
    if (marks > MAX_WATERMARKS) return undefined;
    for (let m = 0; m < marks; m++) {
      markLength[m] = head.u16();
      markAt[m] = head.at;
      head.skip(markLength[m] as number);
      markOffset[m] = head.f64();
    }
    if (head.f64() !== bucket || !head.done) return undefined;
  } catch (error) {
    if (error instanceof BinaryFormatError) return undefined;
    throw error;
  }

  // APPLIED only: every segment above its watermark. The script decides everything else.
  const segments = delta.segments;
  if (segments.length > MAX_WATERMARKS) return undefined;
  let added = 0;
  segmentOfMark.fill(-1, 0, marks);
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s] as DeviceDelta['segments'][number];
    let found = -1;
    for (let m = 0; m < marks && found < 0; m++) {
      if (sameText(known, markAt[m] as number, markLength[m] as number, segment.topicPartition)) found = m;
    }
    const watermark = found < 0 ? -1 : (markOffset[found] as number);
    if (!(watermark < segment.minOffset)) return undefined;
    markOf[s] = found;
    if (found < 0) added++;
    else segmentOfMark[found] = s;
  }
  if (marks + added > 0xffff) return undefined;

  out.u8(DEVICE_MODE.merged).u16(known.length).raw(known);
  const sized = out.beginSized();
  const from = out.size;
  out.u8(STATE_VERSION);
  const deltaLast =
    delta.lastTs > (stored[LAST_TS] as number) ||
    (delta.lastTs === stored[LAST_TS] && delta.lastOffset > (stored[LAST_OFFSET] as number));
  for (let i = 0; i < stored.length; i++) {
    const d = (DELTA_NUMBERS[i] as (delta: DeviceDelta) => number)(delta);
    const c = stored[i] as number;
    const rule = RULES[i];
    out.f64(
      rule === 'sum'
        ? d + c
        : rule === 'min'
          ? luaMin(d, c)
          : rule === 'max'
            ? luaMax(d, c)
            : deltaLast
              ? d
              : c,
    );
  }
  if (deltaLast) writeLastReading(out, delta.last);
  else out.raw(known, lastAt, lastAt + 2 + known.readUInt16BE(lastAt));
  out.u16(marks + added);
  for (let m = 0; m < marks; m++) {
    const segment = segments[segmentOfMark[m] as number];
    const tpAt = markAt[m] as number;
    out.raw(known, tpAt - 2, tpAt + (markLength[m] as number));
    out.f64(segment !== undefined ? segment.maxOffset : (markOffset[m] as number));
  }
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s] as DeviceDelta['segments'][number];
    if (markOf[s] === -1) out.string(segment.topicPartition).f64(segment.maxOffset);
  }
  out.f64(bucket);
  const to = out.size;
  out.endSized(sized);
  writeMinutes(out, bucket, delta.windows);
  return [from, to];
}
