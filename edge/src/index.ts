import { Hono } from 'hono';
import { accounts } from './accounts.ts';
import { answerError, answerNotFound } from './app-errors.ts';
import { sessionMiddleware, type AuthEnv } from './auth.ts';
import { health } from './health.ts';
import { openapi } from './openapi.ts';
import { recipes } from './recipes.ts';

/**
 * The edge API. One sub-app per resource, mounted with `route()` and chained so that `AppType`
 * gives web/ a typed client (`hc<AppType>`).
 */
const app = new Hono<AuthEnv>().basePath('/api').use(sessionMiddleware).route('/health', health).route('/', accounts).route('/recipes', recipes).route('/openapi.json', openapi);

app.notFound(answerNotFound);
app.onError(answerError);

export type AppType = typeof app;
export type { Health } from './health.ts';
export type { AccountSettings, Me } from './accounts.ts';
export type { RecipeView } from './recipes.ts';
export default app;
