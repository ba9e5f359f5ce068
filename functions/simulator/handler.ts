import { SchemaRegistry } from '../shared/avro/schema-registry';
import { loadKafkaSettings, loadTopicNames } from '../shared/config';
import { resolveBrokers } from '../shared/kafka/brokers';
import { KafkaPublisher, type OutboundMessage } from '../shared/kafka/publisher';
import { BAD_RECORD_KINDS, badValue, encodeReading, random, TelemetryGenerator } from './generator';

export interface SimulatorRequest {
  /** @default 10_000 */
  readonly events?: number;
  /** @default 100 */
  readonly devices?: number;
  /** Share of records made bad on purpose, one quarantine reason after another. @default 0 */
  readonly badRatio?: number;
}

const MAX_EVENTS = 1_000_000;

let publisher: Promise<KafkaPublisher> | undefined;
const registry = SchemaRegistry.fromDirectory();

/**
 * A device fleet inside the VPC, for trying a deployment: `aws lambda invoke` it and it
 * publishes generated Avro telemetry to iot-data with the same IAM auth as the pipeline.
 */
export async function handler(request: SimulatorRequest = {}): Promise<{ produced: number; bad: number }> {
  const events = request.events ?? 10_000;
  const devices = request.devices ?? 100;
  const badRatio = request.badRatio ?? 0;
  if (!Number.isInteger(events) || events < 1 || events > MAX_EVENTS) {
    throw new Error(`events must be a whole number from 1 to ${MAX_EVENTS}, got ${events}`);
  }
  if (!Number.isInteger(devices) || devices < 1 || devices > 100_000) {
    throw new Error(`devices must be a whole number from 1 to 100000, got ${devices}`);
  }
  if (!(badRatio >= 0 && badRatio <= 1)) throw new Error(`badRatio must be from 0 to 1, got ${badRatio}`);

  const kafka = loadKafkaSettings();
  const topics = loadTopicNames();
  publisher ??= resolveBrokers(kafka)
    .then((brokers) => KafkaPublisher.create(kafka, brokers))
    .catch((error: unknown) => {
      publisher = undefined;
      throw error;
    });
  const generator = new TelemetryGenerator({ devices, seed: Date.now() });
  const chance = random(Date.now() ^ 0x5eed);
  let bad = 0;
  for (let sent = 0; sent < events; ) {
    const chunk: OutboundMessage[] = [];
    for (; chunk.length < 5_000 && sent < events; sent++) {
      const generated = generator.reading();
      const kind = chance() < badRatio ? BAD_RECORD_KINDS[bad++ % BAD_RECORD_KINDS.length] : undefined;
      chunk.push({
        topic: topics.input,
        key: generated.reading.deviceId,
        value: kind === undefined ? encodeReading(registry, generated) : badValue(registry, generated, kind),
      });
    }
    await (await publisher).publish(chunk);
  }
  return { produced: events, bad };
}
