import { describe, expect, it } from 'vitest';
import type { Telemetry } from '../../../functions/domain/telemetry';
import {
  EARLIEST_TS,
  explainInvalidReading,
  findInvalidField,
  isValidReading,
  MAX_CLOCK_SKEW_MS,
} from '../../../functions/domain/validate';
import { random } from '../../../functions/simulator/generator';
import { telemetry } from '../../support/records';

const NOW = Date.UTC(2026, 10, 25);

/** Values on, just inside and just outside every rule's bounds, and the non-finite ones. */
const EDGES = {
  deviceId: ['dev-1', '', 'dev 1', 'd'.repeat(128), 'd'.repeat(129), 'a.b_c:d-E9', 'dév'],
  ts: [EARLIEST_TS, EARLIEST_TS - 1, NOW + MAX_CLOCK_SKEW_MS, NOW + MAX_CLOCK_SKEW_MS + 1, NOW + 0.5, NOW],
  temperature: [-100, -100.01, 200, 200.01, 21.5, Number.NaN, Number.POSITIVE_INFINITY],
  humidity: [0, -0.01, 100, 100.01, 40, Number.NaN, Number.NEGATIVE_INFINITY],
  battery: [0, -1, 100, 100.5, 90, Number.NaN],
  location: [
    null,
    { lat: 48.85, lon: 2.35 },
    { lat: Number.NaN, lon: 2 },
    { lat: 1, lon: Number.POSITIVE_INFINITY },
  ],
} satisfies { [K in keyof Telemetry]?: readonly Telemetry[K][] };

describe('isValidReading', () => {
  it('gives the same answer as the rules with their messages, field by field and in combination', () => {
    const next = random(7);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
    let valid = 0;
    for (let i = 0; i < 5_000; i++) {
      // Mostly one field off the valid reading, sometimes several.
      const reading: Telemetry = { ...telemetry() };
      for (const [field, values] of Object.entries(EDGES)) {
        if (next() < 0.3) (reading as unknown as Record<string, unknown>)[field] = pick<unknown>(values);
      }
      const explained = explainInvalidReading(reading, NOW);
      expect(isValidReading(reading, NOW), JSON.stringify({ reading, explained })).toBe(
        explained === undefined,
      );
      expect(findInvalidField(reading, NOW)).toBe(explained);
      if (explained === undefined) valid++;
    }
    // Both kinds were met often.
    expect(valid).toBeGreaterThan(500);
    expect(valid).toBeLessThan(4_500);
  });
});
