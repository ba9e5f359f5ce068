import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** An HTTP API (payload format 2.0) event for a request, as API Gateway hands it to a function. */
export function apiGatewayEvent(
  method: string,
  url: string,
  headers: Record<string, string> = {},
): APIGatewayProxyEventV2 {
  const parsed = new URL(url, 'http://localhost');
  const query = Object.fromEntries(parsed.searchParams);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: parsed.pathname,
    rawQueryString: parsed.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      domainName: parsed.host,
      domainPrefix: 'local',
      http: {
        method,
        path: parsed.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
}
