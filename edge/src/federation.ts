import { Hono } from 'hono';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import {
  ANY_AUDIENCE,
  ConsentError,
  IntegrityError,
  NotFoundError,
  parseOrThrow,
  parseRemixLink,
  RecipeSchema,
  recipeIdOf,
  RemoteInstanceError,
  ValidationError,
  verifyConsentToken,
  type ConsentClaims,
  type ConsentFailure,
  type Recipe,
  type RemixLink,
} from '../../contracts/index.ts';
import { requireUser, type AuthEnv, type SessionUser } from './auth.ts';
import { ImportSchema, readRecipe, writePublication, type CheckedCameoUse, type RecipeView } from './recipes.ts';
import { parseJsonBody } from './request-body.ts';
import { isRevoked, jwks } from './signing-keys.ts';

/**
 * Federation: importing a recipe from another Zoetrope instance. The link is a remix link on that
 * instance (`https://host/r/<recipeId>`, fetched from its public API and checked against the id, or
 * `https://host/#recipe=<base64url>`). Before anything is written, every cameo's consent token is
 * verified against its issuer's JWKS (cached briefly per issuer), for a person on the instance the
 * recipe comes from, for the scope the recipe needs, unexpired, and not revoked at the issuer's
 * status endpoint (asked every time). Only http(s) instances are trusted: any https host, and
 * 127.0.0.1/localhost only where FEDERATION_ALLOW_INSECURE=1 (local development).
 */
export const FEDERATION_LIMITS = Object.freeze({
  /** Each request to another instance; the whole import has its own, longer deadline. */
  fetchTimeoutMs: 5_000,
  importTimeoutMs: 15_000,
  recipeBytes: 64 * 1024,
  jwksBytes: 32 * 1024,
  statusBytes: 1024,
  /** How long an issuer's JWKS is reused; a token with a kid not in it refetches after the cooldown. */
  jwksTtlMs: 60_000,
  jwksCooldownMs: 10_000,
  jwksCachedIssuers: 256,
});

/** A recipe accepted from another instance: where it came from, and the consent verified for it. */
export interface FederatedImportView extends RecipeView {
  readonly origin: string;
  readonly consent: readonly { readonly cameoId: string; readonly issuer: string; readonly jti: string; readonly expiresAt: number }[];
}

/** How this instance reaches others: `fetch` in the worker; the deadline bounds the whole import. */
export interface RemoteAccess {
  readonly fetcher: (url: string, init: RequestInit) => Promise<Response>;
  readonly deadline: AbortSignal;
}

export interface ImportOptions {
  /** This instance's origin: links to it belong to POST /api/recipes/from-link. */
  readonly here: string;
  readonly allowInsecure: boolean;
  readonly remote: RemoteAccess;
}

const LOOPBACK = /^(?:localhost|[a-z0-9-]+\.localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;
/** Private, link-local, unspecified and IPv4-mapped addresses: a link must not reach into the network the instance runs in. */
const PRIVATE = /^(?:0\.|10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|169\.254\.|\[(?:f[cd]|fe[89ab])[0-9a-f]{0,2}:|\[::)/;

function urlOrNull(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/** Why another instance at `url` is not trusted, or null when it is. */
export function untrustedBecause(url: URL, allowInsecure: boolean): string | null {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must be an http(s) URL (got ${url.protocol})`;
  if (url.username || url.password) return 'must not carry a user name or password';
  const host = url.hostname.toLowerCase();
  if (LOOPBACK.test(host)) return allowInsecure ? null : `names this machine (${host}); local instances are trusted only with FEDERATION_ALLOW_INSECURE=1`;
  if (PRIVATE.test(host)) return `names a private address (${host})`;
  if (url.protocol !== 'https:') return 'must be https (plain http only for 127.0.0.1/localhost with FEDERATION_ALLOW_INSECURE=1)';
  return null;
}

type RemoteAnswer = { readonly status: 200; readonly value: unknown } | { readonly status: 404 };
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/**
 * GETs JSON from another instance: no redirects, a timeout, a size cap enforced while reading, and
 * a JSON content type. A 404 is the caller's to explain; every other failure is a RemoteInstanceError.
 */
export async function fetchRemoteJson(remote: RemoteAccess, url: string, limitBytes: number): Promise<RemoteAnswer> {
  const signal = AbortSignal.any([remote.deadline, AbortSignal.timeout(FEDERATION_LIMITS.fetchTimeoutMs)]);
  const failed = (error: unknown) =>
    signal.aborted
      ? new RemoteInstanceError({ url, reason: 'timeout' }, `${url} did not answer in time`)
      : new RemoteInstanceError({ url, reason: 'unreachable' }, `${url} could not be reached (${(error as Error).message})`);
  let res: Response;
  try {
    // Redirects are not followed: they could lead past the trust check to a host it refuses.
    res = await remote.fetcher(url, { headers: { accept: 'application/json' }, redirect: 'manual', signal });
  } catch (error) {
    throw failed(error);
  }
  const refuse = (reason: 'bad_response' | 'too_large', why: string) => {
    void res.body?.cancel().catch(() => undefined);
    return new RemoteInstanceError({ url, reason }, `${url} ${why}`);
  };
  if (res.status === 404) {
    void res.body?.cancel().catch(() => undefined);
    return { status: 404 };
  }
  if (res.status !== 200) throw refuse('bad_response', `answered HTTP ${res.status}${res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : ''}`);
  const type = res.headers.get('content-type') ?? '';
  if (!JSON_TYPE.test(type)) throw refuse('bad_response', `answered ${type || 'no content type'}, not application/json`);
  if (Number(res.headers.get('content-length') ?? '0') > limitBytes) throw refuse('too_large', `answered more than ${limitBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body?.getReader();
  try {
    for (;;) {
      if (!reader) break;
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limitBytes) {
        await reader.cancel().catch(() => undefined);
        throw new RemoteInstanceError({ url, reason: 'too_large' }, `${url} answered more than ${limitBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    throw error instanceof RemoteInstanceError ? error : failed(error);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) bytes.set(chunk, (at += chunk.byteLength) - chunk.byteLength);
  try {
    return { status: 200, value: JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)) };
  } catch (error) {
    throw new RemoteInstanceError({ url, reason: 'bad_response' }, `${url} answered something that is not JSON (${(error as Error).message})`);
  }
}

const JwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })).max(32) });
/** Per issuer; `forKid` marks a set fetched again because a token named a kid the cached set lacked. */
const jwksCache = new Map<string, { readonly keys: JSONWebKeySet; readonly fetchedAt: number; readonly forKid: boolean }>();

/** An issuer's public keys, from this isolate's short-lived cache or its /.well-known/jwks.json. */
async function issuerKeys(remote: RemoteAccess, issuer: string, kid: string | undefined, now = Date.now()): Promise<JSONWebKeySet> {
  const cached = jwksCache.get(issuer);
  let forKid = false;
  if (cached && now - cached.fetchedAt < FEDERATION_LIMITS.jwksTtlMs) {
    // A kid not in the set may be a key the issuer rotated in since: fetch again, but tokens naming
    // made-up kids get at most one such fetch per cooldown.
    if (kid === undefined || cached.keys.keys.some((k) => k.kid === kid)) return cached.keys;
    if (cached.forKid && now - cached.fetchedAt < FEDERATION_LIMITS.jwksCooldownMs) return cached.keys;
    forKid = true;
  }
  const url = `${issuer}/.well-known/jwks.json`;
  const answer = await fetchRemoteJson(remote, url, FEDERATION_LIMITS.jwksBytes);
  if (answer.status === 404) throw new RemoteInstanceError({ url, reason: 'bad_response' }, `${url} was not found: ${issuer} publishes no consent keys`);
  const parsed = JwksSchema.safeParse(answer.value);
  if (!parsed.success) throw new RemoteInstanceError({ url, reason: 'bad_response' }, `${url} is not a JWK set`);
  const keys = parsed.data as JSONWebKeySet;
  jwksCache.delete(issuer);
  jwksCache.set(issuer, { keys, fetchedAt: now, forKid });
  // Bounded: the oldest issuer goes first.
  if (jwksCache.size > FEDERATION_LIMITS.jwksCachedIssuers) jwksCache.delete(jwksCache.keys().next().value ?? '');
  return keys;
}

const StatusSchema = z.object({ jti: z.string(), revoked: z.boolean() });

/** Asks the issuer whether a token is revoked (never cached: revocation must take effect at once). */
async function revokedAtIssuer(remote: RemoteAccess, issuer: string, jti: string): Promise<boolean> {
  const url = `${issuer}/api/consent/status/${encodeURIComponent(jti)}`;
  const answer = await fetchRemoteJson(remote, url, FEDERATION_LIMITS.statusBytes);
  if (answer.status === 404) throw new RemoteInstanceError({ url, reason: 'bad_response' }, `${url} was not found: ${issuer} has no revocation status endpoint`);
  const parsed = StatusSchema.safeParse(answer.value);
  if (!parsed.success || parsed.data.jti !== jti) throw new RemoteInstanceError({ url, reason: 'bad_response' }, `${url} is not a revocation status for ${jti}`);
  return parsed.data.revoked;
}

const WHY: Partial<Record<ConsentFailure, string>> = {
  bad_signature: 'its signature does not verify with the key its issuer publishes',
  unknown_key: 'it is signed with a key its issuer does not publish',
  expired: 'it has expired',
  not_yet_valid: 'it is not valid yet',
  wrong_scope: 'it does not grant the scope this recipe needs',
};

interface ConsentContext {
  readonly db: D1Database;
  readonly options: ImportOptions;
  /** The origin the recipe comes from: the grantee named in `aud` must be a person there. */
  readonly source: string;
}

/** Verifies one cameo's consent token against its issuer; throws an error naming the cameo and the reason. */
async function verifyFederatedConsent(ctx: ConsentContext, recipe: Recipe, index: number): Promise<FederatedImportView['consent'][number]> {
  const cameo = recipe.cameos[index]!;
  const what = `recipe.cameos[${index}] (cameo ${cameo.cameoId})`;
  const refuse = (reason: ConsentFailure, why: string) => new ConsentError({ reason, cameoId: cameo.cameoId }, `${what}: consent token refused: ${why}`);
  const naming = (error: unknown) => {
    throw error instanceof RemoteInstanceError ? new RemoteInstanceError({ url: error.url, reason: error.reason }, `${what}: ${error.message}`) : error;
  };
  let unverified: { iss?: unknown; aud?: unknown; kid?: string | undefined };
  try {
    const payload = decodeJwt(cameo.consentToken);
    unverified = { iss: payload.iss, aud: payload.aud, kid: decodeProtectedHeader(cameo.consentToken).kid };
  } catch {
    throw refuse('malformed', 'it is not a readable JWS');
  }
  const iss = unverified.iss;
  const issuer = typeof iss === 'string' ? urlOrNull(iss) : null;
  if (typeof iss !== 'string' || issuer?.origin !== iss) throw refuse('malformed', `its issuer ${String(iss)} is not an instance origin`);
  // A token this instance issued is checked against its own keys and revocations.
  const local = iss === ctx.options.here;
  const untrusted = local ? null : untrustedBecause(issuer, ctx.options.allowInsecure);
  if (untrusted) throw refuse('unknown_key', `its issuer ${iss} is not trusted: it ${untrusted}`);
  const keys = local ? await jwks(ctx.db) : await issuerKeys(ctx.options.remote, iss, unverified.kid).catch(naming);
  const scope = recipe.parent ? 'remix' : 'generate';
  let claims: ConsentClaims;
  try {
    // The audience is checked below, on the verified claims, against where the recipe comes from.
    claims = await verifyConsentToken(cameo.consentToken, keys, { audience: typeof unverified.aud === 'string' ? unverified.aud : '', scope, issuer: iss });
  } catch (error) {
    if (!(error instanceof ConsentError)) throw error;
    throw refuse(error.reason, `${WHY[error.reason] ?? error.message.replace(/^consent token refused: /, '')} (issuer ${iss}, keys ${iss}/.well-known/jwks.json)`);
  }
  if (claims.sub !== cameo.cameoId) throw refuse('wrong_scope', `it is for cameo ${claims.sub}`);
  if (claims.aud !== ANY_AUDIENCE && !claims.aud.startsWith(`${ctx.source}/u/`)) throw refuse('wrong_audience', `it was granted to ${claims.aud}, not to a person on ${ctx.source} where the recipe comes from`);
  const revoked = local ? await isRevoked(ctx.db, claims.jti) : await revokedAtIssuer(ctx.options.remote, iss, claims.jti).catch(naming);
  if (revoked) throw refuse('revoked', `its issuer ${iss} reports token ${claims.jti} revoked`);
  return { cameoId: cameo.cameoId, jti: claims.jti, issuer: iss, expiresAt: claims.exp };
}

/** Fetches a recipe by id from another instance's public API; its recomputed id must be the one asked for. */
async function fetchRemoteRecipe(remote: RemoteAccess, origin: string, recipeId: string): Promise<Recipe> {
  const url = `${origin}/api/recipes/${recipeId}`;
  const answer = await fetchRemoteJson(remote, url, FEDERATION_LIMITS.recipeBytes);
  if (answer.status === 404) throw new NotFoundError({ resource: `recipe on ${origin}`, id: recipeId });
  let recipe: Recipe;
  try {
    recipe = parseOrThrow(RecipeSchema, (answer.value as { recipe?: unknown } | null)?.recipe, 'recipe');
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new RemoteInstanceError({ url, reason: 'bad_response' }, `${url} answered an invalid recipe: ${error.message}`);
  }
  const actual = await recipeIdOf(recipe);
  if (actual !== recipeId) throw new IntegrityError({ url, expected: recipeId, actual }, `${url} answered a recipe whose id is ${actual}, not ${recipeId}: it was changed, refused`);
  return recipe;
}

/** Reads the link: an absolute http(s) link to a trusted instance other than this one. */
function parseFederatedLink(link: string, options: ImportOptions): { readonly origin: string; readonly parsed: RemixLink } {
  const bad = (message: string) => new ValidationError([{ field: 'import.link', message }]);
  const url = urlOrNull(link);
  if (!url) throw bad('must be an absolute http(s) link to another Zoetrope instance');
  if (url.origin === options.here) throw bad('names this instance: accept it with POST /api/recipes/from-link');
  const untrusted = untrustedBecause(url, options.allowInsecure);
  if (untrusted) throw bad(untrusted);
  try {
    return { origin: url.origin, parsed: parseRemixLink(link) };
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw bad(`is not a remix link (${(error as Error).message})`);
  }
}

/**
 * Imports a recipe from another instance for `user`: fetched (id links) or read from the fragment,
 * every cameo's consent verified at its issuer, then stored like a remix-link import with its origin.
 * Nothing is written unless every check passes.
 */
export async function importRemoteRecipe(db: D1Database, user: SessionUser, link: string, options: ImportOptions): Promise<FederatedImportView> {
  const { origin, parsed } = parseFederatedLink(link, options);
  const recipe = parsed.kind === 'id' ? await fetchRemoteRecipe(options.remote, origin, parsed.recipeId) : parsed.recipe;
  const consent = [];
  // One at a time, so the first refusal is the one reported.
  for (let i = 0; i < recipe.cameos.length; i++) consent.push(await verifyFederatedConsent({ db, options, source: origin }, recipe, i));
  const uses: CheckedCameoUse[] = consent.map((c) => ({ cameoId: c.cameoId, jti: c.jti, ...(c.issuer === options.here ? {} : { issuer: c.issuer }) }));
  const id = await writePublication(db, recipe, user, 'link', uses, (recipeId, now) => [
    db.prepare('INSERT INTO recipe_imports (recipe_id, user_id, origin, link, imported_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (recipe_id, user_id) DO NOTHING').bind(recipeId, user.id, origin, link, now),
  ]);
  return { ...(await readRecipe(db, id)), origin, consent: consent.map(({ cameoId, issuer, jti, expiresAt }) => ({ cameoId, issuer, jti, expiresAt })) };
}

export const federation = new Hono<AuthEnv>().post('/', async (c) => {
  const user = requireUser(c);
  const { link } = await parseJsonBody(c, ImportSchema, 'import');
  const imported = await importRemoteRecipe(c.env.DB, user, link, {
    here: new URL(c.req.url).origin,
    allowInsecure: c.env.FEDERATION_ALLOW_INSECURE === '1',
    remote: { fetcher: (url, init) => fetch(url, init), deadline: AbortSignal.timeout(FEDERATION_LIMITS.importTimeoutMs) },
  });
  return c.json(imported, 201);
});
