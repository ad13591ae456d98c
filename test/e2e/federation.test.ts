import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, generateKeyPair, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deserializeError, parseConsentClaims, recipeIdOf, remixLinkById, remixLinkWithRecipe, signConsentToken, type ConsentError, type IntegrityError, type Recipe, type RemoteInstanceError } from '../../contracts/index.ts';
import { DRAFT_RECIPE } from '../fixtures/recipes.ts';
import { startEdge, type RunningEdge } from '../../scripts/running-app.ts';

// Two instances of the edge worker, each in its own workerd with its own local D1, on ports apart from
// a developer's npm start (8787) and the other e2e tests (8891). Started once for the whole file.
const A_PORT = 8893;
const B_PORT = 8894;

// The API's answers as this test reads them (edge/ types need workers-types, not Node's).
interface RecipeView {
  readonly id: string;
  readonly recipe: Recipe;
}
interface FederatedImportView extends RecipeView {
  readonly origin: string;
  readonly consent: readonly { readonly cameoId: string; readonly issuer: string; readonly jti: string }[];
}

interface Who {
  readonly cookie: string;
  readonly csrf: string;
  readonly handle: string;
}

const call = (origin: string, who: Who | null, method: string, path: string, body?: unknown) =>
  fetch(`${origin}/api${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(who ? { cookie: who.cookie, 'x-csrf-token': who.csrf } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function signUp(origin: string, handle: string): Promise<Who> {
  const res = await call(origin, null, 'POST', '/accounts', { handle, password: 'correct horse battery', birthDate: '1990-01-01' });
  expect(res.status, await res.clone().text()).toBe(201);
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: ((await res.json()) as { csrfToken: string }).csrfToken, handle };
}

/** Closes a server, resolving once it has stopped. */
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));
const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

describe('federation between two instances', () => {
  let a: RunningEdge;
  let b: RunningEdge;
  let tamperer: Server;
  let tampererOrigin: string;
  let unreachableOrigin: string;
  const stateDirs: string[] = [];

  // Filled in by the first test: A's cameo, the friend's token and two recipes published with it.
  let owner: Who;
  let cameoId: string;
  let token: string;
  let published: string;
  let publishedLater: string;

  beforeAll(async () => {
    stateDirs.push(await mkdtemp(join(tmpdir(), 'zoetrope-a-')), await mkdtemp(join(tmpdir(), 'zoetrope-b-')));
    [a, b] = await Promise.all([startEdge(A_PORT, stateDirs[0]!), startEdge(B_PORT, stateDirs[1]!)]);
    // An instance that hands out A's recipes changed on the way (same id, different prompt).
    tamperer = createServer((req, res) => {
      void (async () => {
        const upstream = await fetch(`${a.origin}${req.url ?? '/'}`);
        const view = (await upstream.json()) as RecipeView;
        const body = JSON.stringify({ ...view, recipe: { ...view.recipe, prompt: `${view.recipe.prompt}, and a cameo nobody agreed to` } });
        res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(body);
      })();
    });
    tampererOrigin = `http://127.0.0.1:${await listen(tamperer)}`;
    // A port that was just free: nothing answers there.
    const gone = createServer();
    unreachableOrigin = `http://127.0.0.1:${await listen(gone)}`;
    await close(gone);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), tamperer && close(tamperer)]);
    await Promise.all(stateDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('on A, an owner makes a cameo and grants a friend, who publishes recipes with a consent token', async () => {
    owner = await signUp(a.origin, 'owner_a');
    const friend = await signUp(a.origin, 'friend_a');
    const cameo = await call(a.origin, owner, 'POST', '/cameos', { name: 'Owner, waving', audience: 'approved' });
    expect(cameo.status).toBe(201);
    cameoId = ((await cameo.json()) as { id: string }).id;
    expect((await call(a.origin, owner, 'POST', `/cameos/${cameoId}/grants`, { handle: friend.handle })).status).toBe(201);
    const consent = await call(a.origin, friend, 'POST', `/cameos/${cameoId}/consent`, { scope: 'generate' });
    expect(consent.status).toBe(201);
    token = ((await consent.json()) as { token: string }).token;
    expect(decodeJwt(token)).toMatchObject({ iss: a.origin, sub: cameoId, aud: `${a.origin}/u/friend_a` });
    const publish = async (seed: number) => {
      const res = await call(a.origin, friend, 'POST', '/recipes', { recipe: { ...DRAFT_RECIPE, seed, cameos: [{ cameoId, consentToken: token }] } });
      expect(res.status).toBe(201);
      return ((await res.json()) as RecipeView).id;
    };
    [published, publishedLater] = [await publish(9001), await publish(9002)];
  });

  it("on B, someone imports A's link: accepted, the token verified against A's JWKS", async () => {
    const importer = await signUp(b.origin, 'importer_b');
    const res = await call(b.origin, importer, 'POST', '/recipes/import-remote', { link: remixLinkById(a.origin, published) });
    expect(res.status, await res.clone().text()).toBe(201);
    const view = (await res.json()) as FederatedImportView;
    expect(view).toMatchObject({ id: published, origin: a.origin, consent: [{ cameoId, issuer: a.origin, jti: decodeJwt(token).jti }] });
    const here = await call(b.origin, null, 'GET', `/recipes/${published}`);
    expect(here.status).toBe(200);
    expect(((await here.json()) as RecipeView).recipe.cameos).toEqual([{ cameoId, consentToken: token }]);
    // The same recipe carried whole in a fragment link works too.
    const recipe = ((await (await call(a.origin, null, 'GET', `/recipes/${published}`)).json()) as RecipeView).recipe;
    const byFragment = await call(b.origin, await signUp(b.origin, 'fragment_b'), 'POST', '/recipes/import-remote', { link: remixLinkWithRecipe(a.origin, recipe) });
    expect(byFragment.status).toBe(201);
  });

  it("refuses a token whose signature is forged (a key not in A's JWKS), naming the cameo, writing nothing", async () => {
    const { kid } = ((await (await fetch(`${a.origin}/.well-known/jwks.json`)).json()) as JSONWebKeySet).keys[0]!;
    const impostor = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forgedToken = await signConsentToken(parseConsentClaims({ ...decodeJwt(token), jti: 'jti_forged_by_impostor_01' }), impostor.privateKey, kid ?? '');
    const recipe: Recipe = { ...DRAFT_RECIPE, seed: 9003, cameos: [{ cameoId, consentToken: forgedToken }] };
    const res = await call(b.origin, await signUp(b.origin, 'forger_b'), 'POST', '/recipes/import-remote', { link: remixLinkWithRecipe(a.origin, recipe) });
    expect(res.status).toBe(403);
    const error = deserializeError(await res.json()) as ConsentError;
    expect(error).toMatchObject({ code: 'consent_invalid', reason: 'bad_signature', cameoId });
    expect(error.message).toContain(`recipe.cameos[0] (cameo ${cameoId})`);
    expect((await call(b.origin, null, 'GET', `/recipes/${await recipeIdOf(recipe)}`)).status).toBe(404);
  });

  it('refuses a link whose recipe was changed on the way (its id no longer matches)', async () => {
    const res = await call(b.origin, await signUp(b.origin, 'tampered_b'), 'POST', '/recipes/import-remote', { link: remixLinkById(tampererOrigin, publishedLater) });
    expect(res.status).toBe(502);
    const error = deserializeError(await res.json()) as IntegrityError;
    expect(error).toMatchObject({ code: 'integrity', expected: publishedLater, url: `${tampererOrigin}/api/recipes/${publishedLater}` });
    expect(error.actual).not.toBe(publishedLater);
    expect((await call(b.origin, null, 'GET', `/recipes/${error.actual}`)).status).toBe(404);
  });

  it('answers a link to an instance that cannot be reached with a clear error', async () => {
    const res = await call(b.origin, await signUp(b.origin, 'unreached_b'), 'POST', '/recipes/import-remote', { link: remixLinkById(unreachableOrigin, publishedLater) });
    expect(res.status).toBe(502);
    const error = deserializeError(await res.json()) as RemoteInstanceError;
    expect(error).toMatchObject({ code: 'remote_failed', reason: 'unreachable', url: `${unreachableOrigin}/api/recipes/${publishedLater}` });
    expect(error.message).toMatch(/could not be reached/);
  });

  it('after the owner revokes the grant on A, a new import on B is refused naming the revocation', async () => {
    expect(await (await call(a.origin, owner, 'DELETE', `/cameos/${cameoId}/grants/friend_a`)).json()).toEqual({ revokedTokens: 1 });
    const res = await call(b.origin, await signUp(b.origin, 'late_b'), 'POST', '/recipes/import-remote', { link: remixLinkById(a.origin, publishedLater) });
    expect(res.status).toBe(403);
    const error = deserializeError(await res.json()) as ConsentError;
    expect(error).toMatchObject({ code: 'consent_invalid', reason: 'revoked', cameoId });
    expect(error.message).toContain(`its issuer ${a.origin} reports token ${String(decodeJwt(token).jti)} revoked`);
    expect((await call(b.origin, null, 'GET', `/recipes/${publishedLater}`)).status).toBe(404);
  });
});
