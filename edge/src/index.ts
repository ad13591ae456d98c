import { Hono } from 'hono';
import { accounts } from './accounts.ts';
import { cameos } from './cameos.ts';
import { answerError, answerNotFound } from './app-errors.ts';
import { federation } from './federation.ts';
import { sessionMiddleware, type AuthEnv } from './auth.ts';
import { family, settings } from './family.ts';
import { feed } from './feed.ts';
import { health } from './health.ts';
import { moderation, reports } from './moderation.ts';
import { openapi } from './openapi.ts';
import { passkeys } from './passkeys.ts';
import { proJobs, renderNodes } from './pro-jobs.ts';
import { provenance } from './provenance.ts';
import { recipes } from './recipes.ts';
import { consentStatus, wellKnown } from './signing-keys.ts';

/**
 * The edge API. One sub-app per resource, mounted with `route()` and chained so that `AppType`
 * gives web/ a typed client (`hc<AppType>`).
 */
const app = new Hono<AuthEnv>().basePath('/api').use(sessionMiddleware).route('/health', health).route('/', accounts).route('/passkeys', passkeys).route('/recipes', recipes).route('/recipes/import-remote', federation).route('/cameos', cameos).route('/consent', consentStatus).route('/pro-jobs', proJobs).route('/feed', feed).route('/settings', settings).route('/family', family).route('/reports', reports).route('/moderation', moderation).route('/render', renderNodes).route('/provenance', provenance).route('/openapi.json', openapi);

app.notFound(answerNotFound);
app.onError(answerError);

/** The worker: the API under /api, and the instance's public keys at /.well-known/jwks.json. */
const root = new Hono<AuthEnv>().route('/', app).route('/.well-known', wellKnown);
root.notFound(answerNotFound);
root.onError(answerError);

export type AppType = typeof app;
export type { Health } from './health.ts';
export type { AccountSettings, Me } from './accounts.ts';
export type { PasskeyView } from './passkeys.ts';
export type { RecipeView } from './recipes.ts';
export type { FederatedImportView } from './federation.ts';
export type { CameoView } from './cameos.ts';
export type { FeedItem, FeedPage } from './feed.ts';
export type { ChildView } from './family.ts';
export type { ReportView } from './moderation.ts';
export type { ClaimSignatureView, InstanceCertificateView, SignedClaimView } from './provenance.ts';
export { ProQueue } from './pro-queue.ts';
export default root;
