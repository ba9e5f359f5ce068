import type { BatchOutcome } from '../functions/analytics/processor';
import type { QuarantineReason } from '../functions/domain/telemetry';

/** What a tool's processor calls over one range of records added up to. */
export interface RangeTotals {
  records: number;
  applied: number;
  duplicates: number;
  readonly quarantined: Partial<Record<QuarantineReason, number>>;
}

export function emptyTotals(): RangeTotals {
  return { records: 0, applied: 0, duplicates: 0, quarantined: {} };
}

export function addOutcome(totals: RangeTotals, outcome: BatchOutcome): void {
  totals.records += outcome.records;
  totals.applied += outcome.applied;
  totals.duplicates += outcome.duplicates;
  for (const [reason, n] of Object.entries(outcome.quarantined)) {
    const key = reason as QuarantineReason;
    totals.quarantined[key] = (totals.quarantined[key] ?? 0) + (n ?? 0);
  }
}
