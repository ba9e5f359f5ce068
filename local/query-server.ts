import { createServer, type Server } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Response } from '../functions/query/routes';
import { apiGatewayEvent } from './api-gateway-event';

export type QueryHandler = (event: APIGatewayProxyEventV2) => Promise<Response>;

/**
 * Serves the query function over HTTP the way API Gateway would: each request becomes an HTTP API
 * (payload 2.0) event for the real handler, and its answer becomes the response.
 */
export async function startQueryServer(
  handler: QueryHandler,
  port: number,
  host = '127.0.0.1',
): Promise<Server> {
  const server = createServer((request, response) => {
    const headers = Object.fromEntries(
      Object.entries(request.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])),
    );
    handler(apiGatewayEvent(request.method ?? 'GET', request.url ?? '/', headers))
      .then((result) => {
        response.writeHead(result.statusCode, (result.headers ?? {}) as Record<string, string>);
        response.end(result.body);
      })
      .catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: error instanceof Error ? error.message : 'internal error' }));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${port} is in use: pass --port to choose another`)
          : error,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}
