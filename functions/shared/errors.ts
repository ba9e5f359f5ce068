/**
 * Every error Surge raises is a SurgeError. The split that matters to the platform:
 * - InvalidEventError: the invocation itself is malformed; retrying cannot help, so the message says what is wrong.
 * - InfrastructureError: Redis or Kafka failed; the handler lets it escape so the event source mapping retries.
 * - ConfigurationError: a setting is wrong; raised at cold start, naming the setting.
 * Bad records are not errors: they are quarantined (see functions/analytics/decode.ts).
 */
// Names are spelled out: a minified bundle renames classes, and logs must still say what failed.
export class SurgeError extends Error {
  override name = 'SurgeError';
}

export class ConfigurationError extends SurgeError {
  override name = 'ConfigurationError';
}

export class InvalidEventError extends SurgeError {
  override name = 'InvalidEventError';
}

export class InfrastructureError extends SurgeError {
  override name = 'InfrastructureError';
}

export class RedisError extends InfrastructureError {
  override name = 'RedisError';
}

export class KafkaError extends InfrastructureError {
  override name = 'KafkaError';
}

/** Where the store stands against where a batch starts, for one topic-partition. */
export interface WatermarkGap {
  readonly topicPartition: string;
  /** The highest offset the store has applied; -1 for a partition it has nothing of. */
  readonly storeWatermark: number;
  /** The first offset of the batch. */
  readonly batchStart: number;
  /**
   * For a partition the store has nothing of: where the partition's log begins, which is where an
   * event source mapping starting at TRIM_HORIZON delivered it from.
   */
  readonly logStart?: number;
}

/** The offset to rebuild a gap's partition from. */
function rebuildFrom(gap: WatermarkGap): number {
  return gap.logStart ?? gap.storeWatermark + 1;
}

function describeGap(g: WatermarkGap): string {
  const applied =
    g.logStart === undefined
      ? `has offsets up to ${g.storeWatermark} applied`
      : `has nothing applied and its log begins at ${g.logStart}`;
  return `${g.topicPartition} ${applied}, the batch starts at ${g.batchStart}: rebuild ${g.topicPartition} from ${rebuildFrom(g)}`;
}

/**
 * The store is behind what Kafka has committed: it lost acknowledged writes (a failover, a
 * restore) or a batch was diverted. Applying the batch would move the watermarks past the missing
 * records for good, so it is refused until the gap is rebuilt (README, "Rebuild").
 */
export class StoreBehindError extends RedisError {
  override name = 'StoreBehindError';

  constructor(readonly gaps: readonly WatermarkGap[]) {
    super(`the store is behind the batch: ${gaps.map(describeGap).join('; ')}`);
  }
}
