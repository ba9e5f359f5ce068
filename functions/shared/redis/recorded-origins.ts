import { RedisError } from '../errors';
import { topicPartition } from '../msk/event';
import type { PartitionOrigins, PartitionStart } from '../partition-origins';
import type { RedisClient } from './clients';
import { keySpace, STATS_FIELDS } from './layout';
import { runRedis } from './pipeline-executor';

/**
 * Where partitions begin for a mapping that starts at LATEST: the first offset it ever delivered
 * of each, recorded in the stats hash (STATS_FIELDS.origin) by the first attempt at that batch
 * that reaches the store, before the batch is applied. The brokers cannot say where such a
 * mapping started, and without this a partition whose first batch went to the failure destination
 * would apply the next one, and skip the replay of the first as duplicates. When the store was
 * unreachable on every attempt at the first batch, the next batch records its own start: README,
 * "Guarantees", says what that leaves.
 */
export class RecordedPartitionOrigins implements PartitionOrigins {
  private readonly stats: string;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
  ) {
    this.stats = keySpace(keyPrefix).stats;
  }

  /** Records each partition's first offset where none is, and answers what is recorded. */
  async earliest(partitions: readonly PartitionStart[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (partitions.length === 0) return out;
    const tps = partitions.map((p) => topicPartition(p.topic, p.partition));
    const fields = tps.map(STATS_FIELDS.origin);
    const replies = await runRedis(async () => {
      const pipeline = this.redis.pipeline();
      partitions.forEach((p, i) => {
        pipeline.hsetnx(this.stats, fields[i] as string, p.firstOffset);
      });
      pipeline.hmget(this.stats, ...fields);
      const results = (await pipeline.exec()) ?? [];
      for (const [error] of results) if (error) throw error;
      return results.at(-1)?.[1] as (string | null)[];
    }, 'record where partitions begin');
    tps.forEach((tp, i) => {
      const raw = replies[i];
      const origin = raw != null && /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
      if (Number.isNaN(origin)) {
        // Not a number the check can go by: the batch fails (retried) until an operator repairs it.
        throw new RedisError(`stats field ${fields[i]} is not an offset: ${String(raw).slice(0, 100)}`);
      }
      out.set(tp, origin);
    });
    return out;
  }
}
