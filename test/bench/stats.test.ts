import { describe, expect, it, vi } from 'vitest';
import { lineChart } from '../../bench/chart';
import { deliveries, measure, summarize, throughput } from '../../bench/stats';

describe('bench statistics', () => {
  it('takes the median of odd and even samples', () => {
    expect(summarize([5, 1, 3]).median).toBe(3);
    expect(summarize([4, 1, 3, 2])).toMatchObject({ median: 2.5, min: 1, max: 4 });
  });

  it('turns batch durations into records per second', () => {
    expect(throughput([100, 50, 200], 10_000).median).toBe(100_000);
  });

  it('runs the warm-up unmeasured and measures each iteration', async () => {
    let calls = 0;
    const durations = await measure(4, 2, async () => {
      calls++;
    });
    expect(calls).toBe(6);
    expect(durations).toHaveLength(4);
  });

  it('prepares each input outside the measured time and hands it to the body', async () => {
    const log: string[] = [];
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => {
      log.push('clock');
      return log.length;
    });
    try {
      let prepared = 0;
      await measure(
        2,
        1,
        async (n: number) => {
          log.push(`body ${n}`);
        },
        () => {
          log.push(`prepare ${prepared}`);
          return prepared++;
        },
      );
    } finally {
      clock.mockRestore();
    }
    expect(log).toEqual([
      'prepare 0',
      'body 0',
      'prepare 1',
      'clock',
      'body 1',
      'clock',
      'prepare 2',
      'clock',
      'body 2',
      'clock',
    ]);
  });

  it('delivers events freshly parsed from JSON, in turn', () => {
    const next = deliveries([{ a: 1 }, { a: 2 }]);
    const first = next();
    expect([first, next(), next()]).toEqual([{ a: 1 }, { a: 2 }, { a: 1 }]);
    expect(next()).not.toBe(first);
  });
});

describe('bench chart', () => {
  it('draws one labelled point per measurement and a titled, accessible SVG', () => {
    const svg = lineChart('T', 'x', 'y', [
      {
        name: 'a',
        color: '#111',
        points: [
          { x: 100, y: 1_000 },
          { x: 1_000, y: 20_000 },
        ],
      },
      { name: 'b', color: '#222', points: [{ x: 100, y: 500 }] },
    ]);
    expect(svg.match(/<circle/g)).toHaveLength(3);
    expect(svg).toContain('<title>T</title>');
    expect(svg).toMatch(/x="[\d.]+" y="[\d.]+" fill="#111">1,000</);
    // The rightmost value reads leftwards, clear of the legend.
    expect(svg).toMatch(/text-anchor="end" y="[\d.]+" fill="#111">20,000</);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});
