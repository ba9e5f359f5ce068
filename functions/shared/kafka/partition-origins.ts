import { type Admin, Kafka } from 'kafkajs';
import type { KafkaSettings } from '../config';
import { KafkaError } from '../errors';
import { topicPartition } from '../msk/event';
import type { PartitionOrigins, PartitionStart } from '../partition-origins';
import { KafkaConnection } from './connection';
import { kafkaClientConfig } from './publisher';

/**
 * Where partitions' logs begin, for a mapping that starts at TRIM_HORIZON: it delivers a partition
 * from there. Asks the brokers (ListOffsets, with the function's consumer permissions: DescribeTopic on the
 * input topic). One kafkajs admin client per container, connected on first use: only a batch that
 * carries a partition the store has no watermark of asks, so a warm pipeline never does.
 */
export class KafkaPartitionOrigins implements PartitionOrigins {
  private readonly admin: Admin;
  private readonly connection: KafkaConnection;

  constructor(settings: KafkaSettings, brokers: string[]) {
    this.admin = new Kafka(kafkaClientConfig(settings, brokers)).admin();
    this.connection = new KafkaConnection(this.admin);
  }

  /** The earliest offset each partition holds now. */
  async earliest(partitions: readonly PartitionStart[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const topics = [...new Set(partitions.map((p) => p.topic))];
    try {
      await this.connection.ready();
      for (const topic of topics) {
        for (const { partition, low } of await this.admin.fetchTopicOffsets(topic)) {
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

  disconnect(): Promise<void> {
    return this.connection.close();
  }
}
