import type { SchemaRegistry } from '../shared/avro/schema-registry';
import type { AnalyticsConfig } from '../shared/config';
import { RedisError } from '../shared/errors';
import type { OutboundMessage, Publisher } from '../shared/kafka/publisher';
import type { DeviceState } from '../shared/model';
import { type SourceRecord, topicPartition } from '../shared/msk/event';
import type { AnalyticsStore, DeviceOutcome, PartitionOutcome } from '../shared/redis/analytics-store';
import {
  DeviceAccumulator,
  type DeviceDelta,
  deviceDelta,
  PartitionAccumulator,
  type PartitionDelta,
  partitionDelta,
  type Watermarks,
} from './aggregate';
import { type AcceptedRecord, classifyRecord } from './decode';
import { alertMessage, alertReasons, deadLetterMessage, summaryMessage } from './outputs';
import type { QuarantineReason } from './telemetry';

export interface ProcessorDependencies {
  readonly store: AnalyticsStore;
  readonly publisher: Publisher;
  readonly registry: SchemaRegistry;
  readonly config: Pick<AnalyticsConfig, 'topics' | 'alertTemperatureThreshold'>;
  /** The clock that bounds how far in the future a reading may be. */
  readonly now?: () => number;
}

export interface BatchOutcome {
  readonly records: number;
  /** Valid records whose effect was applied by this invocation. */
  readonly applied: number;
  /** Valid records an earlier delivery had already applied. */
  readonly duplicates: number;
  readonly quarantined: Readonly<Partial<Record<QuarantineReason, number>>>;
  readonly devices: number;
  readonly alerts: number;
  /** Store calls made: 1 unless a redelivery overlapped what was applied. */
  readonly storeCalls: number;
  readonly storeMs: number;
  readonly publishMs: number;
}

/** A redelivery can only move the watermarks a bounded number of times; more means a concurrent writer. */
const MAX_STORE_CALLS = 5;

export type BatchProcessor = (records: readonly SourceRecord[]) => Promise<BatchOutcome>;

/**
 * Processes one batch: classify every record, fold the valid ones into per-device deltas,
 * apply them exactly once, then publish dead letters, alerts and device summaries.
 * Bad records are quarantined, never thrown; store and Kafka failures are thrown so that the
 * event source mapping delivers the batch again, which the watermarks make harmless.
 */
export function createBatchProcessor(deps: ProcessorDependencies): BatchProcessor {
  const { store, publisher, registry, config } = deps;
  const now = deps.now ?? Date.now;

  return async function processBatch(records) {
    const at = now();
    const classify = (i: number) => classifyRecord(records[i] as SourceRecord, registry, at);

    // One pass: every record is classified, folded into its device's and partition's accumulators
    // and, when it raises an alert or is quarantined, turned into its message. Nothing per record
    // outlives its turn but its index (the rare recompute of an overlapping redelivery decodes again).
    const devices = new Map<string, DeviceEntry>();
    const partitions = new Map<string, PartitionEntry>();
    const early: OutboundMessage[] = [];
    const byReason: Partial<Record<QuarantineReason, number>> = {};
    let acceptedCount = 0;
    let alerts = 0;
    let partition: PartitionEntry | undefined;
    for (let i = 0; i < records.length; i++) {
      const source = records[i] as SourceRecord;
      if (
        partition === undefined ||
        partition.topic !== source.topic ||
        partition.partition !== source.partition
      ) {
        const tp = topicPartition(source.topic, source.partition);
        partition = partitions.get(tp);
        if (partition === undefined) {
          partition = {
            topic: source.topic,
            partition: source.partition,
            fold: new PartitionAccumulator(tp),
            indices: [],
          };
          partitions.set(tp, partition);
        }
      }
      partition.indices.push(i);
      const result = classify(i);
      if (!result.accepted) {
        partition.fold.add(source.offset, result.reason);
        byReason[result.reason] = (byReason[result.reason] ?? 0) + 1;
        early.push(deadLetterMessage(result, config.topics));
        continue;
      }
      acceptedCount++;
      partition.fold.add(source.offset);
      const { deviceId } = result.reading;
      let device = devices.get(deviceId);
      if (device === undefined) {
        device = { fold: new DeviceAccumulator(deviceId), indices: [] };
        devices.set(deviceId, device);
      }
      device.fold.add(result.reading, partition.fold.topicPartition, source.offset);
      device.indices.push(i);
      const reasons = alertReasons(result, config.alertTemperatureThreshold);
      if (reasons.length > 0) {
        early.push(alertMessage(result, reasons, config.alertTemperatureThreshold, config.topics, registry));
        alerts++;
      }
    }

    // Dead letters and alerts do not depend on the store: they are published while it works.
    const publishStart = performance.now();
    const publishedEarly = publisher.publish(early);
    // Settled either way before this function returns; its failure is reported below.
    publishedEarly.catch(() => undefined);

    // Summaries are encoded as the store answers and sent in two requests: the first half goes out
    // while the store still works on the rest (more, smaller produce requests cost more than they overlap).
    let summaries: OutboundMessage[] = [];
    const published: Promise<void>[] = [publishedEarly];
    const firstPart = Math.ceil(devices.size / 2);
    let sentFirst = false;
    const onStates = (states: DeviceState[]) => {
      for (const state of states) summaries.push(summaryMessage(state, config.topics, registry));
      if (!sentFirst && summaries.length >= firstPart) {
        sentFirst = true;
        const part = publisher.publish(summaries);
        part.catch(() => undefined);
        published.push(part);
        summaries = [];
      }
    };
    const recompute: Recompute = {
      device(deviceId, watermarks) {
        const accepted: AcceptedRecord[] = [];
        for (const i of devices.get(deviceId)?.indices ?? []) {
          const result = classify(i);
          if (result.accepted) accepted.push(result);
        }
        return deviceDelta(deviceId, accepted, watermarks);
      },
      partition(tp, watermark) {
        return partitionDelta(tp, (partitions.get(tp)?.indices ?? []).map(classify), watermark);
      },
    };
    const storeStart = performance.now();
    let applied: Applied;
    try {
      applied = await applyExactlyOnce(
        store,
        [...devices.values()].map((device) => device.fold.delta() as DeviceDelta),
        [...partitions.values()].map((entry) => entry.fold.delta() as PartitionDelta),
        recompute,
        onStates,
      );
    } catch (error) {
      await Promise.allSettled(published);
      throw error;
    }
    const storeMs = performance.now() - storeStart;
    published.push(publisher.publish(summaries));
    await Promise.all(published);
    const publishMs = performance.now() - publishStart;

    return {
      records: records.length,
      applied: applied.records,
      duplicates: acceptedCount - applied.records,
      quarantined: byReason,
      devices: devices.size,
      alerts,
      storeCalls: applied.storeCalls,
      storeMs,
      publishMs,
    };
  };
}

interface DeviceEntry {
  readonly fold: DeviceAccumulator;
  /** Positions of the device's records in the batch. */
  readonly indices: number[];
}

interface PartitionEntry {
  readonly topic: string;
  readonly partition: number;
  readonly fold: PartitionAccumulator;
  readonly indices: number[];
}

/** Deltas recomputed from the records above the watermarks a PARTIAL answer reported. */
interface Recompute {
  device(deviceId: string, watermarks: Watermarks): DeviceDelta | undefined;
  partition(topicPartition: string, watermark: number): PartitionDelta | undefined;
}

interface Applied {
  readonly records: number;
  readonly storeCalls: number;
}

function emptyDelta(deviceId: string): DeviceDelta {
  // Asks the store for the device's current state without changing it.
  return {
    deviceId,
    segments: [],
    count: 0,
    temperature: { min: 0, max: 0, sum: 0 },
    humidity: { min: 0, max: 0, sum: 0 },
    batteryMin: 0,
    status: { OK: 0, WARN: 0, FAIL: 0 },
    firstTs: 0,
    lastTs: 0,
    last: { ts: 0, temperature: 0, humidity: 0, battery: 0, status: 'OK', location: null, firmware: '' },
    lastOffset: 0,
    windows: [],
  };
}

/**
 * Sends every delta in one store call. A delta that overlaps what an earlier delivery applied
 * comes back PARTIAL with the watermarks; it is recomputed from the records above them and sent again.
 */
async function applyExactlyOnce(
  store: AnalyticsStore,
  initialDevices: DeviceDelta[],
  initialPartitions: PartitionDelta[],
  recompute: Recompute,
  onStates: (states: DeviceState[]) => void,
): Promise<Applied> {
  let devices = initialDevices;
  let partitions = initialPartitions;
  let records = 0;
  let storeCalls = 0;
  while (devices.length > 0 || partitions.length > 0) {
    if (storeCalls === MAX_STORE_CALLS) {
      throw new RedisError(
        `watermarks still moving after ${MAX_STORE_CALLS} attempts: is another consumer applying the same partitions?`,
      );
    }
    storeCalls++;
    const result = await store.apply({ devices, partitions }, onStates);
    const retryDevices: DeviceDelta[] = [];
    result.devices.forEach((outcome: DeviceOutcome, i) => {
      const delta = devices[i] as DeviceDelta;
      if (outcome.kind === 'partial') {
        retryDevices.push(recompute.device(delta.deviceId, outcome.watermarks) ?? emptyDelta(delta.deviceId));
        return;
      }
      if (outcome.kind === 'applied') records += delta.count;
    });
    const retryPartitions: PartitionDelta[] = [];
    result.partitions.forEach((outcome: PartitionOutcome, i) => {
      if (outcome.kind !== 'partial') return;
      const delta = recompute.partition((partitions[i] as PartitionDelta).topicPartition, outcome.watermark);
      if (delta !== undefined) retryPartitions.push(delta);
    });
    devices = retryDevices;
    partitions = retryPartitions;
  }
  return { records, storeCalls };
}
