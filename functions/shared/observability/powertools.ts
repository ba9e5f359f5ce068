import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export const METRICS_NAMESPACE = 'Surge';

/**
 * Structured JSON logs and CloudWatch embedded-format metrics, one pair per function.
 * POWERTOOLS_LOG_LEVEL and POWERTOOLS_METRICS_DISABLED tune them without code changes.
 */
export function observability(serviceName: string): { logger: Logger; metrics: Metrics } {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
  };
}
