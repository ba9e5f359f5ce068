import { describe, expect, it } from 'vitest';
import { sustainedRate } from '../../local/event-source/commit-rate';

describe('sustainedRate', () => {
  it('measures between the commits that pass 10% and 90%, leaving out a slow start and drain', () => {
    const log: [number, number][] = [
      [1_000, 50],
      [3_000, 100],
      [3_500, 600],
      [4_000, 1_100],
      [9_000, 1_200],
    ];
    // From the first commit past 120 (600 at 3.5 s) to the first past 1,080 (1,100 at 4 s): 500 in 0.5 s.
    expect(sustainedRate(log, 1_200)).toBe(1_000);
  });

  it('says null when the log cannot tell', () => {
    expect(sustainedRate([], 100)).toBeNull();
    expect(sustainedRate([[5, 100]], 100)).toBeNull();
  });
});
