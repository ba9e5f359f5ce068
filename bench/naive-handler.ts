import type { MSKEvent } from 'aws-lambda';
import type { Redis } from 'ioredis';
import type { Producer } from 'kafkajs';

/**
 * The reference that hand-written consumers resemble (the seed's Java example): JSON values, one
 * awaited Redis write per record, one produce per record. No exactly-once, no quarantine.
 */
export function naiveHandler(redis: Redis, producer: Producer) {
  return async (event: MSKEvent): Promise<void> => {
    for (const records of Object.values(event.records)) {
      for (const record of records) {
        const reading = JSON.parse(Buffer.from(record.value, 'base64').toString('utf8'));
        const count = await redis.hincrby(`naive:dev:${reading.deviceId}`, 'count', 1);
        await producer.send({
          topic: 'processed-data',
          acks: -1,
          messages: [
            {
              key: reading.deviceId,
              value: JSON.stringify({ deviceId: reading.deviceId, count, last: reading }),
            },
          ],
        });
      }
    }
  };
}
