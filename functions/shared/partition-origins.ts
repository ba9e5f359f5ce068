/**
 * The port the processor (functions/analytics/processor.ts) asks where a partition begins for the
 * event source mapping, to check the batch of a partition the store has nothing of: the records
 * between that origin and the batch's first offset were delivered and never applied.
 * Two adapters: the log's start asked of the brokers, for a mapping at TRIM_HORIZON
 * (kafka/partition-origins.ts); the first offset ever delivered, recorded in the store, for a
 * mapping at LATEST (redis/recorded-origins.ts).
 */

/** A partition of a batch, and the first offset the batch has of it. */
export interface PartitionStart {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: number;
}

export interface PartitionOrigins {
  /** Where each partition begins for the mapping, by topic-partition (`topic-partition`). */
  earliest(partitions: readonly PartitionStart[]): Promise<Map<string, number>>;
}
