import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { type logCreator, logLevel } from 'kafkajs';

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

/** Routes kafkajs's own diagnostics into a structured logger instead of the console. */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...detail } = log;
      if (level <= logLevel.ERROR) logger.error(`kafkajs: ${message}`, detail);
      else if (level === logLevel.WARN) logger.warn(`kafkajs: ${message}`, detail);
      else logger.debug(`kafkajs: ${message}`, detail);
    };
}
