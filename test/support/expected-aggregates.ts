import type { PlacedReading } from './records';

export function readingsByDevice(placed: readonly PlacedReading[]): Map<string, PlacedReading[]> {
  const groups = new Map<string, PlacedReading[]>();
  for (const p of placed) groups.set(p.reading.deviceId, [...(groups.get(p.reading.deviceId) ?? []), p]);
  return groups;
}

/**
 * The aggregates the specification asks for, computed the plainest way from the full list of
 * valid readings: an independent check of the incremental, deduplicated path through Redis.
 */
export function expectedDevice(readings: readonly PlacedReading[]) {
  const r = readings.map((p) => p.reading);
  const temperatures = r.map((x) => x.temperature);
  const humidities = r.map((x) => x.humidity);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const latest = [...readings].sort((a, b) => b.reading.ts - a.reading.ts || b.offset - a.offset)[0];
  if (latest === undefined) throw new Error('no readings');
  const last = latest.reading;
  return {
    deviceId: last.deviceId,
    count: r.length,
    firstTs: Math.min(...r.map((x) => x.ts)),
    lastTs: Math.max(...r.map((x) => x.ts)),
    temperature: { min: Math.min(...temperatures), max: Math.max(...temperatures), mean: mean(temperatures) },
    humidity: { min: Math.min(...humidities), max: Math.max(...humidities), mean: mean(humidities) },
    battery: { min: Math.min(...r.map((x) => x.battery)), last: last.battery },
    status: {
      OK: r.filter((x) => x.status === 'OK').length,
      WARN: r.filter((x) => x.status === 'WARN').length,
      FAIL: r.filter((x) => x.status === 'FAIL').length,
    },
    last: {
      ts: last.ts,
      temperature: last.temperature,
      humidity: last.humidity,
      battery: last.battery,
      status: last.status,
      location: last.location,
      firmware: last.firmware,
    },
  };
}

export function expectedWindows(readings: readonly PlacedReading[]) {
  const windows = new Map<number, number[]>();
  for (const { reading } of readings) {
    const start = Math.floor(reading.ts / 60_000) * 60_000;
    windows.set(start, [...(windows.get(start) ?? []), reading.temperature]);
  }
  return [...windows]
    .sort(([a], [b]) => a - b)
    .map(([start, t]) => ({
      start,
      count: t.length,
      temperature: {
        min: Math.min(...t),
        max: Math.max(...t),
        mean: t.reduce((a, b) => a + b, 0) / t.length,
      },
    }));
}

type Numeric = { [key: string]: unknown };

/**
 * Compares aggregates: counts and extremes exactly, means to 1e-9 relative (a mean is a sum
 * divided by a count, and the sum's order depends on how the batches fell).
 */
export function expectAggregatesEqual(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (path.endsWith('.mean')) {
      if (Math.abs(actual - expected) > 1e-9 * Math.max(1, Math.abs(expected))) {
        throw new Error(`${path}: expected ${expected}, got ${actual}`);
      }
    } else if (actual !== expected) {
      throw new Error(`${path}: expected ${expected}, got ${actual}`);
    }
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object')
      throw new Error(`${path}: expected an object, got ${actual}`);
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const key of keys)
      expectAggregatesEqual((actual as Numeric)[key], (expected as Numeric)[key], `${path}.${key}`);
    return;
  }
  if (actual !== expected)
    throw new Error(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
