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

/**
 * Runs `body` `warmup` times unmeasured, then `iterations` times; returns the durations in ms.
 * `prepare`, when given, makes each run's input outside the measured time.
 */
export async function measure<T = void>(
  iterations: number,
  warmup: number,
  body: (input: T) => Promise<void>,
  prepare?: () => T,
): Promise<number[]> {
  const input = () => (prepare ? prepare() : (undefined as T));
  for (let i = 0; i < warmup; i++) await body(input());
  const durations: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const next = input();
    const start = performance.now();
    await body(next);
    durations.push(performance.now() - start);
  }
  return durations;
}

/**
 * Events as the Lambda runtime hands them over: parsed from JSON just before each invocation, so
 * the handler meets young objects, as in Lambda. Cycles through `events`.
 */
export function deliveries<E>(events: readonly E[]): () => E {
  const texts = events.map((event) => JSON.stringify(event));
  let next = 0;
  return () => JSON.parse(texts[next++ % texts.length] as string) as E;
}

/** Records per second from durations in ms for batches of `records`. */
export function throughput(durations: number[], records: number): Measurement {
  return summarize(durations.map((ms) => (records / ms) * 1_000));
}
