import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, MSKEvent } from 'aws-lambda';
import { InvalidEventError, StoreBehindError } from '../shared/errors';
import { parseMskEvent, type SourceRecord } from '../shared/msk/event';
import { observability } from '../shared/observability/powertools';
import { type AnalyticsContainer, createAnalyticsContainer } from './container';

const { logger, metrics } = observability('surge-analytics');

/** The handler's logger and metrics, for tests that check what a failure reports. */
export const analyticsObservability = { logger, metrics };

export interface AnalyticsHandlerOptions {
  /** The container to use; by default one is built from the environment on first invocation. */
  readonly container?: () => AnalyticsContainer;
}

/**
 * The Lambda entry point of an MSK event source mapping. It checks the event, runs the batch
 * through the processor and reports; every decision is made in processor.ts.
 * Resolves when every record is applied or quarantined; rejects (so that the mapping retries)
 * on a malformed event or an infrastructure failure.
 */
export function createAnalyticsHandler(options: AnalyticsHandlerOptions = {}) {
  const build = options.container ?? (() => createAnalyticsContainer());
  let container: AnalyticsContainer | undefined;

  return async function analyticsHandler(event: MSKEvent, context?: Context): Promise<void> {
    const startedAt = performance.now();
    let records: readonly SourceRecord[] = [];
    let startingUp = true;
    try {
      records = parseMskEvent(event);
      // Start-up (configuration, secret, brokers) fails like a batch: logged, counted, retried.
      container ??= build();
      const processor = await container.processor(event.bootstrapServers);
      startingUp = false;
      const outcome = await processor(records);
      const ms = performance.now() - startedAt;
      metrics.addMetric('RecordsApplied', MetricUnit.Count, outcome.applied);
      metrics.addMetric('RecordsDuplicate', MetricUnit.Count, outcome.duplicates);
      let quarantined = 0;
      for (const [reason, count] of Object.entries(outcome.quarantined)) {
        metrics.addMetric(`Quarantined_${reason}`, MetricUnit.Count, count);
        quarantined += count;
      }
      metrics.addMetric('RecordsQuarantined', MetricUnit.Count, quarantined);
      metrics.addMetric('BatchLatency', MetricUnit.Milliseconds, ms);
      metrics.addMetric('RedisLatency', MetricUnit.Milliseconds, outcome.storeMs);
      metrics.addMetric('KafkaLatency', MetricUnit.Milliseconds, outcome.publishMs);
      logger.info('batch processed', { requestId: context?.awsRequestId, ms: Math.round(ms), ...outcome });
    } catch (error) {
      if (error instanceof StoreBehindError) {
        // Lost writes: an alarm of its own, and the offsets to rebuild in the log line.
        metrics.addMetric('StoreBehind', MetricUnit.Count, 1);
        logger.error('the store is behind Kafka: rebuild before this batch can be applied', {
          requestId: context?.awsRequestId,
          gaps: error.gaps,
        });
      }
      if (startingUp && !(error instanceof InvalidEventError)) {
        metrics.addMetric('StartupFailures', MetricUnit.Count, 1);
      }
      logger.error(
        `${startingUp ? 'start-up' : 'batch'} failed; the event source mapping will deliver the batch again`,
        {
          requestId: context?.awsRequestId,
          records: records.length,
          error: error as Error,
        },
      );
      metrics.addMetric('BatchFailures', MetricUnit.Count, 1);
      throw error;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

export const handler = createAnalyticsHandler();
