/**
 * The head of each device's stored value (layout.ts: the state with its watermarks, then the
 * current bucket's start; everything but the current bucket's minutes) as this container last
 * wrote it or had it answered. A hint, never the truth: another writer may have moved the device
 * since, and the device script compares the whole stored head with it before it writes a head
 * merged from it (head-merge.ts), answering STALE otherwise.
 *
 * Heads live in fixed slots of one buffer, found by device id, so that a warm fleet replaces
 * its heads in place batch after batch without allocating (a buffer per head per batch would be
 * promoted and collected again and again).
 */

/** Bytes a slot holds: a state with one watermark and a firmware string of ~100 bytes. A longer head is not kept. */
export const HEAD_SLOT_BYTES = 320;

/**
 * Devices whose heads a container keeps, at most (REDIS_KNOWN_HEADS_MAX sets fewer or more): 100,000
 * slots are 32 MB. A fleet larger than the limit per container starts again from none when it is
 * full (its devices then cost the script's merge, as they do in a cold container).
 */
export const MAX_KNOWN_HEADS = 100_000;

/**
 * What a kept head costs the container: its slot, its length and the map entry with the device id
 * (measured: 449 bytes a device over 100,000 devices with 26-character ids, heap and buffers).
 */
export const HEAD_COST_BYTES = 450;

/**
 * The heads a function of `memoryMb` keeps by default: as many as a sixteenth of its memory
 * holds, at most MAX_KNOWN_HEADS (a 128 MB function keeps 18,641, one of 1,024 MB or more 100,000).
 */
export function knownHeadsFor(memoryMb: number): number {
  return Math.min(MAX_KNOWN_HEADS, Math.floor((memoryMb * 1_048_576) / 16 / HEAD_COST_BYTES));
}

export class KnownHeads {
  #slots = Buffer.alloc(0);
  #lengths = new Uint16Array(0);
  readonly #slotOf = new Map<string, number>();
  readonly #free: number[] = [];
  #used = 0;

  constructor(private readonly maxDevices = MAX_KNOWN_HEADS) {
    if (!(Number.isInteger(maxDevices) && maxDevices >= 1))
      throw new RangeError(`known heads must be kept for at least one device, got ${maxDevices}`);
  }

  get size(): number {
    return this.#slotOf.size;
  }

  /** The head kept for the device, as a view of its slot (valid until it is next remembered or forgotten). */
  get(deviceId: string): Buffer | undefined {
    const slot = this.#slotOf.get(deviceId);
    if (slot === undefined) return undefined;
    const at = slot * HEAD_SLOT_BYTES;
    return this.#slots.subarray(at, at + (this.#lengths[slot] as number));
  }

  /** Keeps bytes `from` to `to` of `source` as the device's head (a copy); forgets it when they do not fit a slot. */
  remember(deviceId: string, source: Buffer, from: number, to: number): void {
    const length = to - from;
    if (length <= 0 || length > HEAD_SLOT_BYTES) {
      this.forget(deviceId);
      return;
    }
    let slot = this.#slotOf.get(deviceId);
    if (slot === undefined) {
      slot = this.#take();
      this.#slotOf.set(deviceId, slot);
    }
    source.copy(this.#slots, slot * HEAD_SLOT_BYTES, from, to);
    this.#lengths[slot] = length;
  }

  forget(deviceId: string): void {
    const slot = this.#slotOf.get(deviceId);
    if (slot === undefined) return;
    this.#slotOf.delete(deviceId);
    this.#free.push(slot);
  }

  #take(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#used === this.maxDevices) {
      // Full: start again from none rather than keep an order of use per device.
      this.#slotOf.clear();
      this.#free.length = 0;
      this.#used = 0;
    }
    const capacity = this.#lengths.length;
    if (this.#used === capacity) {
      const next = Math.min(this.maxDevices, Math.max(1_024, capacity * 2));
      const slots = Buffer.allocUnsafe(next * HEAD_SLOT_BYTES);
      this.#slots.copy(slots);
      const lengths = new Uint16Array(next);
      lengths.set(this.#lengths);
      this.#slots = slots;
      this.#lengths = lengths;
    }
    return this.#used++;
  }
}
