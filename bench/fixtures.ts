import type { MSKEvent } from 'aws-lambda';
import { SCHEMA_IDS, type SchemaRegistry } from '../functions/shared/avro/schema-registry';
import { encodeReading, TelemetryGenerator } from '../functions/simulator/generator';
import { buildMskEvent, type KafkaRecordInput } from '../local/msk-event';

export type Encoding = 'avro' | 'json' | 'raw-avro-v2';

/** Offsets are shared by every factory of a run: a reused offset would be a (skipped) redelivery. */
let nextOffset = 0;
/**
 * Each factory writes to a partition of its own: its batches are contiguous there, as the mapping
 * delivers a partition, while other factories' batches (some never handed to the handler) take
 * offsets in between; on one partition the handler would see those as records the store lost.
 */
let nextPartition = 0;

/**
 * Batches as the MSK event source mapping delivers them, with fresh offsets on every call so that
 * each measured invocation applies new records (no duplicate shortcut).
 */
export class BatchFactory {
  private readonly generator: TelemetryGenerator;
  /** The partition of this factory's batches. */
  readonly partition = nextPartition++;

  constructor(
    private readonly registry: SchemaRegistry,
    readonly devices: number,
    seed = 1,
    /**
     * The fleet's name, the prefix of its device ids. Another factory's devices have readings later
     * than this one's first, which would make every batch of this one late data for them.
     * @default - a fleet of this factory's own
     */
    fleet = `sensor${nextPartition}`,
    /**
     * Event time of the first reading; each next one is 5 ms later.
     * @default - twelve hours ago
     */
    startTs = Date.now() - 12 * 3_600_000,
  ) {
    this.generator = new TelemetryGenerator({ devices, seed, devicePrefix: fleet, startTs, intervalMs: 5 });
  }

  event(size: number, encoding: Encoding = 'avro', partition = this.partition): MSKEvent {
    const records: KafkaRecordInput[] = [];
    for (let i = 0; i < size; i++) {
      const generated = this.generator.reading();
      const { reading } = generated;
      let value: Buffer;
      if (encoding === 'avro') value = encodeReading(this.registry, generated);
      else if (encoding === 'json') value = Buffer.from(JSON.stringify(reading));
      else value = this.registry.typeOf(SCHEMA_IDS.telemetryV2).toBuffer(reading);
      records.push({ partition, offset: nextOffset++, key: reading.deviceId, value });
    }
    return buildMskEvent(records);
  }
}
