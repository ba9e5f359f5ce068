import type { SchemaRegistry } from '../shared/avro/schema-registry';
import type { AnalyticsConfig } from '../shared/config';
import { RedisError } from '../shared/errors';
import type { OutboundMessage, Publisher } from '../shared/kafka/publisher';
import type { DeviceState } from '../shared/model';
import type { SourceRecord } from '../shared/msk/event';
import type { AnalyticsStore, DeviceOutcome, PartitionOutcome } from '../shared/redis/analytics-store';
import {
  type DeviceDelta,
  deviceDelta,
  groupByDevice,
  groupByPartition,
  type PartitionDelta,
  partitionDelta,
} from './aggregate';
import { type AcceptedRecord, type Classified, classifyRecord, type QuarantinedRecord } from './decode';
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
    const classified: Classified[] = new Array(records.length);
    const accepted: AcceptedRecord[] = [];
    const quarantined: QuarantinedRecord[] = [];
    for (let i = 0; i < records.length; i++) {
      const result = classifyRecord(records[i] as SourceRecord, registry, at);
      classified[i] = result;
      if (result.accepted) accepted.push(result);
      else quarantined.push(result);
    }

    const byDevice = groupByDevice(accepted);
    const byPartition = groupByPartition(classified);

    // Dead letters and alerts do not depend on the store: they are published while it works.
    const early: OutboundMessage[] = [];
    for (const record of quarantined) early.push(deadLetterMessage(record, config.topics));
    let alerts = 0;
    for (const record of accepted) {
      const reasons = alertReasons(record, config.alertTemperatureThreshold);
      if (reasons.length === 0) continue;
      early.push(alertMessage(record, reasons, config.alertTemperatureThreshold, config.topics, registry));
      alerts++;
    }
    const publishStart = performance.now();
    const publishedEarly = publisher.publish(early);
    // Settled either way before this function returns; its failure is reported below.
    publishedEarly.catch(() => undefined);

    // Summaries are encoded part by part while the store still works on the rest of the batch,
    // then sent in one request (several small produce requests cost more than they overlap).
    const summaries: OutboundMessage[] = [];
    const onStates = (states: DeviceState[]) => {
      for (const state of states) summaries.push(summaryMessage(state, config.topics, registry));
    };
    const storeStart = performance.now();
    let applied: Applied;
    try {
      applied = await applyExactlyOnce(store, byDevice, byPartition, onStates);
    } catch (error) {
      await publishedEarly.catch(() => undefined);
      throw error;
    }
    const storeMs = performance.now() - storeStart;
    await Promise.all([publishedEarly, publisher.publish(summaries)]);
    const publishMs = performance.now() - publishStart;

    const byReason: Partial<Record<QuarantineReason, number>> = {};
    for (const record of quarantined) byReason[record.reason] = (byReason[record.reason] ?? 0) + 1;
    return {
      records: records.length,
      applied: applied.records,
      duplicates: accepted.length - applied.records,
      quarantined: byReason,
      devices: byDevice.size,
      alerts,
      storeCalls: applied.storeCalls,
      storeMs,
      publishMs,
    };
  };
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
  byDevice: Map<string, AcceptedRecord[]>,
  byPartition: Map<string, Classified[]>,
  onStates: (states: DeviceState[]) => void,
): Promise<Applied> {
  let devices: DeviceDelta[] = [];
  for (const [deviceId, group] of byDevice) {
    const delta = deviceDelta(deviceId, group);
    if (delta !== undefined) devices.push(delta);
  }
  let partitions: PartitionDelta[] = [];
  for (const [tp, group] of byPartition) {
    const delta = partitionDelta(tp, group);
    if (delta !== undefined) partitions.push(delta);
  }

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
        const group = byDevice.get(delta.deviceId) ?? [];
        retryDevices.push(
          deviceDelta(delta.deviceId, group, outcome.watermarks) ?? emptyDelta(delta.deviceId),
        );
        return;
      }
      if (outcome.kind === 'applied') records += delta.count;
    });
    const retryPartitions: PartitionDelta[] = [];
    result.partitions.forEach((outcome: PartitionOutcome, i) => {
      if (outcome.kind !== 'partial') return;
      const tp = (partitions[i] as PartitionDelta).topicPartition;
      const delta = partitionDelta(tp, byPartition.get(tp) ?? [], outcome.watermark);
      if (delta !== undefined) retryPartitions.push(delta);
    });
    devices = retryDevices;
    partitions = retryPartitions;
  }
  return { records, storeCalls };
}
