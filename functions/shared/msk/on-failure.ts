import type { MSKEvent, MSKRecord } from 'aws-lambda';
import { parseMskEvent, type SourceRecord } from './event';

/**
 * The document AWS's event source mapping writes to a `kafka://` on-failure destination, one per
 * record of a batch that ran out of retries or record age (Lambda Developer Guide,
 * kafka-on-failure-destination), keyed by the record's key. The local emulator writes the same
 * document, so the replay path (ops/replay-failed.ts) reads one format locally and in AWS.
 */
export interface OnFailureDocument {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    /** RetryAttemptsExhausted, RecordAgeExceeded, MaximumPayloadSizeExceeded, ... */
    readonly condition: string;
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly KafkaBatchInfo: {
    readonly batchSize: number;
    readonly eventSourceArn: string;
    readonly bootstrapServers: string;
    readonly payloadSize: number;
    readonly recordInfo: { readonly offset: string; readonly timestamp: string };
  };
  /** An MSK event that holds the one failed record. */
  readonly payload: MSKEvent;
}

export interface FailureContext {
  readonly condition: string;
  readonly approximateInvokeCount: number;
  readonly functionArn: string;
  readonly eventSourceArn: string;
  readonly bootstrapServers: string;
  readonly batchSize: number;
  readonly functionError: string;
  readonly requestId?: string;
  readonly now?: Date;
}

/** The fields every failure document has, whatever the destination. */
function envelope(
  context: FailureContext,
): Pick<OnFailureDocument, 'requestContext' | 'responseContext' | 'version' | 'timestamp'> {
  return {
    requestContext: {
      requestId: context.requestId ?? crypto.randomUUID(),
      functionArn: context.functionArn,
      condition: context.condition,
      approximateInvokeCount: context.approximateInvokeCount,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: context.functionError },
    version: '1.0',
    timestamp: (context.now ?? new Date()).toISOString(),
  };
}

export function onFailureDocument(record: MSKRecord, context: FailureContext): OnFailureDocument {
  const payload: MSKEvent = {
    eventSource: 'aws:kafka',
    eventSourceArn: context.eventSourceArn,
    bootstrapServers: context.bootstrapServers,
    records: { [`${record.topic}-${record.partition}`]: [record] },
  };
  return {
    ...envelope(context),
    KafkaBatchInfo: {
      batchSize: context.batchSize,
      eventSourceArn: context.eventSourceArn,
      bootstrapServers: context.bootstrapServers,
      payloadSize: Buffer.byteLength(JSON.stringify(payload)),
      recordInfo: { offset: String(record.offset), timestamp: new Date(record.timestamp).toISOString() },
    },
    payload,
  };
}

export class OnFailureDocumentError extends Error {
  override name = 'OnFailureDocumentError';
}

/** The records a failure document holds, as the function would have received them. */
export function recordsOfFailureDocument(document: Buffer | string): SourceRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof document === 'string' ? document : document.toString('utf8'));
  } catch (cause) {
    throw new OnFailureDocumentError(`not a JSON document: ${(cause as Error).message}`, { cause });
  }
  const payload = (parsed as { payload?: unknown } | null)?.payload;
  if (payload === undefined) throw new OnFailureDocumentError('the document has no payload');
  // AWS documents the payload as the event; accept it as JSON text too.
  return parseMskEvent(typeof payload === 'string' ? JSON.parse(payload) : payload);
}

/**
 * What AWS sends an SQS or SNS on-failure destination for a Kafka batch: the metadata only, the
 * offset range of each partition (Lambda Developer Guide, kafka-on-failure). The records
 * themselves stay in the source topic, where a replay reads them again (ops/replay-failed.ts).
 */
export type OnFailureMetadata = Omit<OnFailureDocument, 'KafkaBatchInfo' | 'payload'> & {
  readonly KafkaBatchInfo: Omit<OnFailureDocument['KafkaBatchInfo'], 'recordInfo'> & {
    /** By "topic-partition". */
    readonly recordsInfo: Readonly<
      Record<
        string,
        {
          readonly firstRecordOffset: string;
          readonly lastRecordOffset: string;
          readonly firstRecordTimestamp: string;
          readonly lastRecordTimestamp: string;
        }
      >
    >;
  };
};

export function onFailureMetadata(
  ranges: readonly {
    readonly topic: string;
    readonly partition: number;
    readonly records: readonly MSKRecord[];
  }[],
  context: FailureContext & { readonly payloadSize: number },
): OnFailureMetadata {
  const recordsInfo: Record<string, OnFailureMetadata['KafkaBatchInfo']['recordsInfo'][string]> = {};
  for (const { topic, partition, records } of ranges) {
    const first = records[0];
    const last = records.at(-1);
    if (first === undefined || last === undefined) continue;
    recordsInfo[`${topic}-${partition}`] = {
      firstRecordOffset: String(first.offset),
      lastRecordOffset: String(last.offset),
      firstRecordTimestamp: new Date(first.timestamp).toISOString(),
      lastRecordTimestamp: new Date(last.timestamp).toISOString(),
    };
  }
  return {
    ...envelope(context),
    KafkaBatchInfo: {
      batchSize: context.batchSize,
      eventSourceArn: context.eventSourceArn,
      bootstrapServers: context.bootstrapServers,
      payloadSize: context.payloadSize,
      recordsInfo,
    },
  };
}

/** The offset ranges a metadata document names, per topic and partition (inclusive). */
export function rangesOfFailureMetadata(
  document: Buffer | string,
): { readonly topic: string; readonly partition: number; readonly from: number; readonly to: number }[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof document === 'string' ? document : document.toString('utf8'));
  } catch (cause) {
    throw new OnFailureDocumentError(`not a JSON document: ${(cause as Error).message}`, { cause });
  }
  const info = (parsed as { KafkaBatchInfo?: { recordsInfo?: unknown } } | null)?.KafkaBatchInfo?.recordsInfo;
  if (info === null || typeof info !== 'object') {
    throw new OnFailureDocumentError('the document has no KafkaBatchInfo.recordsInfo');
  }
  return Object.entries(
    info as Record<string, { firstRecordOffset?: unknown; lastRecordOffset?: unknown }>,
  ).map(([topicPartition, range]) => {
    const at = topicPartition.lastIndexOf('-');
    const topic = topicPartition.slice(0, at);
    const partition = Number(topicPartition.slice(at + 1));
    const from = Number(range.firstRecordOffset);
    const to = Number(range.lastRecordOffset);
    if (
      at < 1 ||
      !Number.isInteger(partition) ||
      !Number.isSafeInteger(from) ||
      !Number.isSafeInteger(to) ||
      to < from
    ) {
      throw new OnFailureDocumentError(
        `a bad range in recordsInfo: ${topicPartition} ${JSON.stringify(range)}`,
      );
    }
    return { topic, partition, from, to };
  });
}
