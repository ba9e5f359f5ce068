export interface Measurement {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: number[];
}

export function summarize(samples: number[]): Measurement {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted.at(-1) as number, samples };
}

/** Runs `body` `warmup` times unmeasured, then `iterations` times; returns the durations in ms. */
export async function measure(
  iterations: number,
  warmup: number,
  body: () => Promise<void>,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await body();
  const durations: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await body();
    durations.push(performance.now() - start);
  }
  return durations;
}

/** Records per second from durations in ms for batches of `records`. */
export function throughput(durations: number[], records: number): Measurement {
  return summarize(durations.map((ms) => (records / ms) * 1_000));
}
