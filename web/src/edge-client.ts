import { hc } from 'hono/client';
import { deserializeError, InternalError } from '../../contracts/index.ts';
import type { AppType, Health } from '../../edge/src/index.ts';

/** The typed client of the edge API (same origin; Vite proxies /api to workerd in development). */
export const edge = hc<AppType>(location.origin);

/** Turns a failed response into the ZoetropeError the API sent, or says what went wrong. */
async function errorOf(res: Response): Promise<Error> {
  const body: unknown = await res.json().catch(() => undefined);
  return body === undefined ? new InternalError(`the edge API answered ${res.status} ${res.statusText}`.trim()) : deserializeError(body);
}

export async function fetchHealth(signal?: AbortSignal): Promise<Health> {
  let res: Response;
  try {
    res = await edge.api.health.$get(undefined, { init: signal ? { signal } : {} });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new InternalError('the edge API cannot be reached: is `npm start` running?', { cause: error });
  }
  // 503 still carries a health report: degraded, with the reason.
  if (res.ok || res.status === 503) return (await res.json()) as Health;
  throw await errorOf(res);
}
