/**
 * Records per second between the commits that passed 10% and 90% of `total`: the steady state of
 * a run, without its start (JIT warm-up, first fetches) and its drain (the last partial batches
 * wait out the batching window). Null when the log cannot tell.
 */
export function sustainedRate(log: readonly (readonly [number, number])[], total: number): number | null {
  const from = log.find(([, committed]) => committed >= total * 0.1);
  const to = log.find(([, committed]) => committed >= total * 0.9);
  if (from === undefined || to === undefined || to[0] <= from[0]) return null;
  return Math.round(((to[1] - from[1]) / (to[0] - from[0])) * 1_000);
}
