/**
 * What a function's answer means to the event source mapping when partial batch responses are on
 * (`ReportBatchItemFailures`). AWS: an empty or null response, or an empty or null list, is
 * success; an item naming a partition or offset that was not in the event fails the whole batch.
 * Where AWS says nothing (an answer that is not an object, a list that is not a list, an item
 * without an identifier), the emulator fails the whole batch too: the safe reading, never a stop.
 */

/** A record of the invoked batch: its partition and offset. */
export interface DeliveredRecord {
  readonly partition: number;
  readonly offset: number;
}

export type BatchVerdict =
  | { readonly kind: 'success' }
  /** Per partition, the lowest offset reported failed: it and every later record are retried. */
  | { readonly kind: 'partial'; readonly failedFrom: ReadonlyMap<number, number> }
  | { readonly kind: 'failed'; readonly reason: string };

function describe(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return String(value);
  }
}

export function batchVerdict(
  response: unknown,
  topic: string,
  delivered: readonly DeliveredRecord[],
): BatchVerdict {
  if (response === null || response === undefined) return { kind: 'success' };
  if (typeof response !== 'object' || Array.isArray(response)) {
    return { kind: 'failed', reason: `the response is not an object: ${describe(response)}` };
  }
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return { kind: 'success' };
  if (!Array.isArray(failures)) {
    return { kind: 'failed', reason: `batchItemFailures is not a list: ${describe(failures)}` };
  }
  if (failures.length === 0) return { kind: 'success' };
  const present = new Set(delivered.map((r) => `${r.partition}:${r.offset}`));
  const failedFrom = new Map<number, number>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier as
      | { partition?: unknown; offset?: unknown }
      | undefined;
    const name = typeof id?.partition === 'string' ? id.partition : undefined;
    const partition =
      name?.startsWith(`${topic}-`) === true ? Number(name.slice(topic.length + 1)) : Number.NaN;
    const offset = id?.offset;
    if (
      !Number.isInteger(partition) ||
      typeof offset !== 'number' ||
      !present.has(`${partition}:${offset}`)
    ) {
      return {
        kind: 'failed',
        reason: `batchItemFailures names a record that is not in the batch: ${describe(failure)}`,
      };
    }
    failedFrom.set(partition, Math.min(failedFrom.get(partition) ?? offset, offset));
  }
  return { kind: 'partial', failedFrom };
}
