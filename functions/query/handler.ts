import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { loadQueryConfig } from '../shared/config';
import { InfrastructureError } from '../shared/errors';
import { observability } from '../shared/observability/powertools';
import { type AnalyticsReader, RedisAnalyticsReader } from '../shared/redis/analytics-reader';
import { connectRedis } from '../shared/redis/connect';
import { json, type Response, route } from './routes';

const { logger } = observability('surge-query');

export interface QueryHandlerOptions {
  /** The reader to use; by default one over REDIS_URL, built on first request. */
  readonly reader?: () => AnalyticsReader | Promise<AnalyticsReader>;
}

async function readerFromEnvironment(): Promise<AnalyticsReader> {
  const config = loadQueryConfig();
  return new RedisAnalyticsReader(await connectRedis(config), { keyPrefix: config.redisKeyPrefix });
}

/** The query API behind API Gateway: every answer, errors included, is JSON. */
export function createQueryHandler(options: QueryHandlerOptions = {}) {
  const build = options.reader ?? readerFromEnvironment;
  let reader: Promise<AnalyticsReader> | undefined;
  return async function queryHandler(event: APIGatewayProxyEventV2): Promise<Response> {
    try {
      reader ??= Promise.resolve(build()).catch((error: unknown) => {
        reader = undefined;
        throw error;
      });
      return await route(event, await reader);
    } catch (error) {
      logger.error('query failed', { path: event.rawPath, error: error as Error });
      return error instanceof InfrastructureError
        ? json(503, { message: 'the analytics store is unavailable, try again' })
        : json(500, { message: 'internal error' });
    }
  };
}

export const handler = createQueryHandler();
