import { type Admin, Kafka } from 'kafkajs';
import type { KafkaSettings } from '../config';
import { KafkaError } from '../errors';
import { topicPartition } from '../msk/event';
import { kafkaClientConfig } from './publisher';

export interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/**
 * Where partitions' logs begin: what a batch of a partition the store has never seen is checked
 * against (functions/analytics/processor.ts), since an event source mapping that starts at
 * TRIM_HORIZON delivers a partition from there.
 */
export interface PartitionOrigins {
  /** The earliest offset each partition holds now, by topic-partition (`topic-partition`). */
  earliest(partitions: readonly PartitionRef[]): Promise<Map<string, number>>;
}

/**
 * Asks the brokers (ListOffsets, with the function's consumer permissions: DescribeTopic on the
 * input topic). One kafkajs admin client per container, connected on first use: only a batch that
 * carries a partition the store has no watermark of asks, so a warm pipeline never does.
 */
export class KafkaPartitionOrigins implements PartitionOrigins {
  private admin: Admin | undefined;
  private connected: Promise<void> | undefined;

  constructor(
    private readonly settings: KafkaSettings,
    private readonly brokers: string[],
  ) {}

  async earliest(partitions: readonly PartitionRef[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const topics = [...new Set(partitions.map((p) => p.topic))];
    try {
      const admin = await this.connect();
      for (const topic of topics) {
        for (const { partition, low } of await admin.fetchTopicOffsets(topic)) {
          out.set(topicPartition(topic, partition), Number(low));
        }
      }
    } catch (cause) {
      throw new KafkaError(`cannot read where ${topics.join(', ')} begin: ${(cause as Error).message}`, {
        cause,
      });
    }
    for (const { topic, partition } of partitions) {
      const tp = topicPartition(topic, partition);
      if (!out.has(tp)) throw new KafkaError(`the brokers know no partition ${partition} of ${topic}`);
    }
    return out;
  }

  async disconnect(): Promise<void> {
    const connected = this.connected;
    this.connected = undefined;
    if (connected !== undefined) await this.admin?.disconnect();
  }

  private async connect(): Promise<Admin> {
    this.admin ??= new Kafka(kafkaClientConfig(this.settings, this.brokers)).admin();
    const admin = this.admin;
    if (this.connected === undefined) {
      this.connected = admin.connect().catch((error: unknown) => {
        this.connected = undefined;
        throw error;
      });
    }
    await this.connected;
    return admin;
  }
}
