import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DEVICE_ID_PATTERN } from '../domain/validate';
import type { AnalyticsReader } from '../shared/redis/analytics-reader';

export type Response = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

export function json(statusCode: number, body: unknown): Response {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}

const DEVICE = /^\/devices\/([^/]+)$/;
const WINDOWS = /^\/devices\/([^/]+)\/windows$/;

function deviceIdFrom(raw: string): string | undefined {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return DEVICE_ID_PATTERN.test(id) ? id : undefined;
}

/** The widest `from`..`to` one /windows request may ask for: 7 days, at most 10,081 minute windows. */
export const MAX_WINDOW_SPAN_MS = 7 * 24 * 3_600_000;

/** Epoch milliseconds as a JavaScript number holds them exactly; null when absent; undefined when bad. */
function epochMs(value: string | undefined): number | null | undefined {
  if (value === undefined || value === '') return null;
  if (!/^\d{1,16}$/.test(value)) return undefined;
  const ms = Number(value);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Routes a request of an HTTP API (payload format 2.0) to the reader. */
export async function route(event: APIGatewayProxyEventV2, reader: AnalyticsReader): Promise<Response> {
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = (event.rawPath ?? '/').replace(/\/+$/, '') || '/';
  const windows = WINDOWS.exec(path);
  const device = DEVICE.exec(path);
  if (path !== '/stats' && windows === null && device === null)
    return json(404, { message: `no route for ${path}` });
  if (method !== 'GET') return json(405, { message: `${method} is not allowed; use GET` });

  if (path === '/stats') return json(200, await reader.stats());

  const id = deviceIdFrom(((windows ?? device) as RegExpExecArray)[1] as string);
  if (id === undefined) return json(400, { message: 'deviceId must match ^[A-Za-z0-9._:-]{1,128}$' });

  if (windows !== null) {
    const askedFrom = epochMs(event.queryStringParameters?.from);
    const askedTo = epochMs(event.queryStringParameters?.to);
    if (askedFrom === undefined || askedTo === undefined) {
      return json(400, {
        message: `from and to must be epoch milliseconds up to ${Number.MAX_SAFE_INTEGER}`,
      });
    }
    let to = askedTo;
    if (askedFrom === null && askedTo === null) {
      // Neither given: the latest span of the device's own data, wherever its clock is.
      const state = await reader.device(id);
      if (state === undefined) return json(404, { message: `device ${id} has no data` });
      to = state.lastTs;
    }
    const from = askedFrom ?? Math.max(0, (to as number) - MAX_WINDOW_SPAN_MS);
    to ??= from + MAX_WINDOW_SPAN_MS;
    if (from > to) return json(400, { message: `from (${from}) is after to (${to})` });
    if (to - from > MAX_WINDOW_SPAN_MS) {
      return json(400, { message: `from and to may be at most ${MAX_WINDOW_SPAN_MS} ms (7 days) apart` });
    }
    return json(200, { deviceId: id, windows: await reader.windows(id, from, to) });
  }

  const state = await reader.device(id);
  return state === undefined ? json(404, { message: `device ${id} has no data` }) : json(200, state);
}
