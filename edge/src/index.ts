import { Hono } from 'hono';
import { answerError, answerNotFound } from './app-errors.ts';
import { health } from './health.ts';

/**
 * The edge API. One sub-app per resource, mounted with `route()` and chained so that `AppType`
 * gives web/ a typed client (`hc<AppType>`).
 */
const app = new Hono<{ Bindings: Env }>().basePath('/api').route('/health', health);

app.notFound(answerNotFound);
app.onError(answerError);

export type AppType = typeof app;
export type { Health } from './health.ts';
export default app;
