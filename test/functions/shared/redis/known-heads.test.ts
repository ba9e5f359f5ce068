import { describe, expect, it } from 'vitest';
import {
  HEAD_COST_BYTES,
  HEAD_SLOT_BYTES,
  KnownHeads,
  knownHeadsFor,
  MAX_KNOWN_HEADS,
} from '../../../../functions/shared/redis/known-heads';

const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);

describe('KnownHeads', () => {
  it('keeps a copy of the bytes it is given, replaces them in place and forgets them', () => {
    const heads = new KnownHeads();
    const source = Buffer.concat([bytes(3, 9), bytes(5, 1), bytes(2, 9)]);
    heads.remember('a', source, 3, 8);
    source.fill(0);
    expect(heads.get('a')).toEqual(bytes(5, 1));
    heads.remember('a', bytes(7, 2), 0, 7);
    expect(heads.get('a')).toEqual(bytes(7, 2));
    expect(heads.size).toBe(1);
    heads.forget('a');
    expect(heads.get('a')).toBeUndefined();
    expect(heads.size).toBe(0);
  });

  it('forgets a device whose head does not fit a slot, or is empty', () => {
    const heads = new KnownHeads();
    heads.remember('a', bytes(10, 1), 0, 10);
    heads.remember('a', bytes(HEAD_SLOT_BYTES + 1, 1), 0, HEAD_SLOT_BYTES + 1);
    expect(heads.get('a')).toBeUndefined();
    heads.remember('b', bytes(HEAD_SLOT_BYTES, 3), 0, HEAD_SLOT_BYTES);
    expect(heads.get('b')).toEqual(bytes(HEAD_SLOT_BYTES, 3));
    heads.remember('b', bytes(1, 1), 0, 0);
    expect(heads.get('b')).toBeUndefined();
  });

  it('keeps every head as it grows, and reuses the slot of a forgotten one', () => {
    const heads = new KnownHeads(5_000);
    for (let d = 0; d < 3_000; d++) heads.remember(`d${d}`, bytes(1 + (d % 200), d % 256), 0, 1 + (d % 200));
    for (let d = 0; d < 3_000; d++) expect(heads.get(`d${d}`)).toEqual(bytes(1 + (d % 200), d % 256));
    heads.forget('d7');
    heads.remember('new', bytes(4, 4), 0, 4);
    expect(heads.get('new')).toEqual(bytes(4, 4));
    expect(heads.get('d8')).toEqual(bytes(9, 8));
    expect(heads.size).toBe(3_000);
  });

  it('starts again from none when it is full, rather than grow past its limit', () => {
    const heads = new KnownHeads(3);
    for (const id of ['a', 'b', 'c']) heads.remember(id, bytes(2, 1), 0, 2);
    heads.remember('d', bytes(2, 2), 0, 2);
    expect(heads.size).toBe(1);
    expect(heads.get('a')).toBeUndefined();
    expect(heads.get('d')).toEqual(bytes(2, 2));
  });

  it('refuses to keep heads for fewer than one device', () => {
    for (const max of [0, -1, 2.5, Number.NaN]) {
      expect(() => new KnownHeads(max)).toThrow(/known heads must be kept for at least one device/);
    }
    expect(new KnownHeads(1).size).toBe(0);
  });

  it('sizes its default by the memory a function has: a sixteenth of it, at most MAX_KNOWN_HEADS', () => {
    expect(knownHeadsFor(128)).toBe(18_641);
    expect(knownHeadsFor(128) * HEAD_COST_BYTES).toBeLessThanOrEqual(8 * 1_048_576);
    expect((knownHeadsFor(128) + 1) * HEAD_COST_BYTES).toBeGreaterThan(8 * 1_048_576);
    expect(knownHeadsFor(256)).toBe(37_282);
    expect(knownHeadsFor(1_024)).toBe(MAX_KNOWN_HEADS);
    expect(knownHeadsFor(10_240)).toBe(MAX_KNOWN_HEADS);
  });
});
