import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { deserializeError, recipeIdOf, remixLinkById, remixLinkWithRecipe, signConsentToken, type ConsentError, type Recipe, type RemoteInstanceError, type ValidationError } from '../../contracts/index.ts';
import type { Me } from '../../edge/src/accounts.ts';
import type { SessionUser } from '../../edge/src/auth.ts';
import { fetchRemoteJson, importRemoteRecipe, untrustedBecause, type FederatedImportView, type RemoteAccess } from '../../edge/src/federation.ts';
import { issueConsentToken, revokeConsent } from '../../edge/src/signing-keys.ts';
import { makeSigningKey } from '../fixtures/consent.ts';
import { DRAFT_RECIPE } from '../fixtures/recipes.ts';

// What runs here needs no second instance: link validation, the trust rule, the limits on what another
// instance may answer (against a stand-in instance: a fetch function), and tokens this instance issued.
// test/e2e/federation.test.ts imports between two real instances.
const BASE = 'http://edge.test/api';
let n = 0;

async function signedIn(): Promise<{ cookie: string; csrf: string; me: Me }> {
  const res = await SELF.fetch(`${BASE}/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handle: `fed_${Date.now() % 100000}_${n++}`, password: 'correct horse battery', birthDate: '1990-01-01' }) });
  const me = await res.json<Me>();
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: me.csrfToken, me };
}
const importLink = (link: unknown, who?: { cookie: string; csrf: string }, body = JSON.stringify({ link })) =>
  SELF.fetch(`${BASE}/recipes/import-remote`, { method: 'POST', headers: { 'content-type': 'application/json', ...(who ? { cookie: who.cookie, 'x-csrf-token': who.csrf } : {}) }, body });
const count = async (table: string) => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())?.n ?? 0;
const nowS = () => Math.floor(Date.now() / 1000);

/** A stand-in for another instance: answers by URL, counting requests. */
function standIn(routes: Record<string, () => Response | Promise<Response>>): RemoteAccess & { readonly asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    deadline: AbortSignal.timeout(10_000),
    fetcher: async (url) => {
      asked.push(url);
      const route = routes[url];
      if (!route) throw new TypeError(`connect ECONNREFUSED (${url})`);
      return route();
    },
  };
}
const json = (value: unknown, init: ResponseInit = {}) => new Response(JSON.stringify(value), { ...init, headers: { 'content-type': 'application/json', ...init.headers } });

describe('POST /api/recipes/import-remote: the link', () => {
  it('needs a session', async () => {
    expect((await importLink('https://other.example/r/x')).status).toBe(401);
  });

  it('refuses what is not a link to another trusted instance, naming the field, and writes nothing', async () => {
    const me = await signedIn();
    const before = [await count('recipes'), await count('recipe_publications'), await count('recipe_imports')];
    const id = await recipeIdOf(DRAFT_RECIPE);
    const cases: [string, RegExp][] = [
      ['not a link', /import\.link must be an absolute http\(s\) link/],
      [`/r/${id}`, /import\.link must be an absolute/],
      [`ftp://other.example/r/${id}`, /import\.link must be an http\(s\) URL \(got ftp:\)/],
      ['javascript:alert(1)', /import\.link must be an http\(s\) URL \(got javascript:\)/],
      [`data:application/json,{}`, /must be an http\(s\) URL \(got data:\)/],
      [`http://other.example/r/${id}`, /import\.link must be https/],
      [`https://user:pw@other.example/r/${id}`, /must not carry a user name or password/],
      [`https://10.1.2.3/r/${id}`, /names a private address \(10\.1\.2\.3\)/],
      [`https://[::ffff:127.0.0.1]/r/${id}`, /names a private address/],
      [`http://edge.test/r/${id}`, /names this instance: accept it with POST \/api\/recipes\/from-link/],
      ['https://other.example/watch?v=1', /link is neither \/r\/<recipeId> nor #recipe=/],
      ['https://other.example/r/not-an-id', /link\.recipeId must be a recipe id/],
      [`https://other.example/#recipe=${btoa(JSON.stringify({ ...DRAFT_RECIPE, durationS: 99 })).replaceAll('=', '').replaceAll('+', '-').replaceAll('/', '_')}`, /recipe\.durationS/],
    ];
    for (const [link, message] of cases) {
      const res = await importLink(link, me);
      expect(res.status, link).toBe(400);
      const error = deserializeError(await res.json()) as ValidationError;
      expect(error.message, link).toMatch(message);
    }
    expect((await importLink(42, me)).status).toBe(400);
    expect((await importLink('x', me, JSON.stringify({ link: `https://other.example/#recipe=${'A'.repeat(70_000)}` }))).status).toBe(413);
    expect([await count('recipes'), await count('recipe_publications'), await count('recipe_imports')]).toEqual(before);
  });

  it('trusts any https instance, and this machine only when FEDERATION_ALLOW_INSECURE allows it', () => {
    const cases: [string, boolean, string | null][] = [
      ['https://zoetrope.example', false, null],
      ['https://127.0.0.1:8443', false, 'names this machine (127.0.0.1); local instances are trusted only with FEDERATION_ALLOW_INSECURE=1'],
      ['http://localhost:8787', false, 'names this machine (localhost); local instances are trusted only with FEDERATION_ALLOW_INSECURE=1'],
      ['http://127.0.0.1:8787', true, null],
      ['http://app.localhost:8787', true, null],
      ['http://[::1]:8787', true, null],
      ['http://zoetrope.example', true, 'must be https (plain http only for 127.0.0.1/localhost with FEDERATION_ALLOW_INSECURE=1)'],
      ['https://192.168.1.10', true, 'names a private address (192.168.1.10)'],
      ['https://172.20.0.1', false, 'names a private address (172.20.0.1)'],
      ['https://169.254.169.254', false, 'names a private address (169.254.169.254)'],
      ['https://[fd00::1]', false, 'names a private address ([fd00::1])'],
      ['https://0.0.0.0', false, 'names a private address (0.0.0.0)'],
      ['file:///etc/passwd', true, 'must be an http(s) URL (got file:)'],
    ];
    for (const [url, allowInsecure, problem] of cases) expect(untrustedBecause(new URL(url), allowInsecure), url).toBe(problem);
  });

  it('answers an instance that cannot be reached with remote_failed, naming the URL', async () => {
    const me = await signedIn();
    // Port 9 (discard) on this machine: nothing listens there.
    const res = await importLink(remixLinkById('http://127.0.0.1:9', await recipeIdOf(DRAFT_RECIPE)), me);
    expect(res.status).toBe(502);
    const error = deserializeError(await res.json()) as RemoteInstanceError;
    expect(error).toMatchObject({ code: 'remote_failed', reason: 'unreachable', url: `http://127.0.0.1:9/api/recipes/${await recipeIdOf(DRAFT_RECIPE)}` });
    expect(error.message).toMatch(/could not be reached/);
  });
});

describe('what another instance may answer', () => {
  const url = 'https://other.example/api/recipes/x';
  const failure = async (response: () => Response | Promise<Response>, limit = 1024) => (await fetchRemoteJson(standIn({ [url]: response }), url, limit).catch((e: unknown) => e)) as RemoteInstanceError;

  it('reads JSON within the size cap; 404 is the caller\'s to explain', async () => {
    expect(await fetchRemoteJson(standIn({ [url]: () => json({ ok: 1 }) }), url, 1024)).toEqual({ status: 200, value: { ok: 1 } });
    expect(await fetchRemoteJson(standIn({ [url]: () => json({}, { status: 404 }) }), url, 1024)).toEqual({ status: 404 });
  });

  it('refuses oversized, non-JSON, redirected, failing, slow and unreachable answers', async () => {
    const streamed = () => new Response(new ReadableStream({ pull: (c) => c.enqueue(new TextEncoder().encode('['.repeat(512))) }), { headers: { 'content-type': 'application/json' } });
    expect(await failure(streamed)).toMatchObject({ reason: 'too_large', message: `${url} answered more than 1024 bytes` });
    expect(await failure(() => json({ pad: 'x'.repeat(2000) }))).toMatchObject({ reason: 'too_large' });
    expect(await failure(() => new Response('<html>', { headers: { 'content-type': 'text/html' } }))).toMatchObject({ reason: 'bad_response', message: `${url} answered text/html, not application/json` });
    expect(await failure(() => new Response('{"a":', { headers: { 'content-type': 'application/json' } }))).toMatchObject({ reason: 'bad_response', message: expect.stringMatching(/not JSON/) });
    expect(await failure(() => new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/' } }))).toMatchObject({ reason: 'bad_response', message: `${url} answered HTTP 302 (redirects are not followed)` });
    expect(await failure(() => json({}, { status: 500 }))).toMatchObject({ reason: 'bad_response', message: `${url} answered HTTP 500` });
    const slow: RemoteAccess = { deadline: AbortSignal.timeout(50), fetcher: (_u, init) => new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error))) };
    expect(await fetchRemoteJson(slow, url, 1024).catch((e: unknown) => e)).toMatchObject({ code: 'remote_failed', reason: 'timeout' });
    expect(await fetchRemoteJson(standIn({}), url, 1024).catch((e: unknown) => e)).toMatchObject({ code: 'remote_failed', reason: 'unreachable' });
  });
});

describe('consent in an imported recipe', () => {
  const here = 'http://edge.test';
  const user = async (): Promise<SessionUser> => {
    const { me } = await signedIn();
    return { id: me.id, handle: me.handle, isTeen: false, csrfToken: me.csrfToken };
  };
  const withCameo = (cameoId: string, consentToken: string, seed: number): Recipe => ({ ...DRAFT_RECIPE, seed, cameos: [{ cameoId, consentToken }] });

  it('verifies a token another instance issued against its JWKS (refetched for a new kid) and its status endpoint', async () => {
    const issuer = 'https://issuer.example';
    let key = await makeSigningKey('issuer-key-1');
    let revoked = false;
    const instance = standIn({
      [`${issuer}/.well-known/jwks.json`]: () => json(key.jwks),
      [`${issuer}/api/consent/status/jti_federated_000000001`]: () => json({ jti: 'jti_federated_000000001', revoked }),
      [`${issuer}/api/consent/status/jti_federated_000000002`]: () => json({ jti: 'jti_federated_000000002', revoked }),
    });
    const options = { here, allowInsecure: false, remote: instance };
    const t = nowS();
    const claims = { iss: issuer, sub: 'cameo_federated01', aud: `${issuer}/u/friend`, scope: ['generate' as const], iat: t, exp: t + 3600, jti: 'jti_federated_000000001' };
    const recipe = withCameo('cameo_federated01', await signConsentToken(claims, key.privateKey, key.kid), 7001);
    const importer = await user();
    const view: FederatedImportView = await importRemoteRecipe(env.DB, importer, remixLinkWithRecipe(issuer, recipe), options);
    expect(view).toMatchObject({ id: await recipeIdOf(recipe), origin: issuer, consent: [{ cameoId: 'cameo_federated01', issuer, jti: claims.jti, expiresAt: claims.exp }] });
    expect(await env.DB.prepare('SELECT origin FROM recipe_imports WHERE recipe_id = ? AND user_id = ?').bind(view.id, importer.id).first()).toEqual({ origin: issuer });
    expect(await env.DB.prepare('SELECT issuer, jti FROM recipe_cameos WHERE recipe_id = ?').bind(view.id).first()).toEqual({ issuer, jti: claims.jti });

    // The issuer rotates its key: the cached JWKS lacks the new kid, so it is fetched again.
    key = await makeSigningKey('issuer-key-2');
    const rotated = withCameo('cameo_federated01', await signConsentToken({ ...claims, jti: 'jti_federated_000000002' }, key.privateKey, key.kid), 7002);
    expect((await importRemoteRecipe(env.DB, importer, remixLinkWithRecipe(issuer, rotated), options)).consent[0]?.jti).toBe('jti_federated_000000002');
    expect(instance.asked.filter((u) => u.endsWith('jwks.json'))).toHaveLength(2);
    // A made-up kid right after that refetch is not worth another: refused with the keys in hand.
    const madeUp = await makeSigningKey('issuer-key-made-up');
    const unknownKid = withCameo('cameo_federated01', await signConsentToken({ ...claims, jti: 'jti_federated_000000003' }, madeUp.privateKey, madeUp.kid), 7003);
    expect(await importRemoteRecipe(env.DB, importer, remixLinkWithRecipe(issuer, unknownKid), options).catch((e: unknown) => e)).toMatchObject({ reason: 'unknown_key', cameoId: 'cameo_federated01' });
    expect(instance.asked.filter((u) => u.endsWith('jwks.json'))).toHaveLength(2);

    // Revoked at the issuer → refused, naming the cameo, and nothing written.
    revoked = true;
    const before = await count('recipe_publications');
    const refused = (await importRemoteRecipe(env.DB, await user(), remixLinkWithRecipe(issuer, rotated), options).catch((e: unknown) => e)) as ConsentError;
    expect(refused).toMatchObject({ code: 'consent_invalid', reason: 'revoked', cameoId: 'cameo_federated01' });
    expect(refused.message).toMatch(/recipe\.cameos\[0\] \(cameo cameo_federated01\): consent token refused: its issuer https:\/\/issuer\.example reports token jti_federated_000000002 revoked/);
    // A token for a person on another instance than the one the recipe comes from → wrong audience.
    const elsewhere = (await importRemoteRecipe(env.DB, importer, remixLinkWithRecipe('https://another.example', rotated), options).catch((e: unknown) => e)) as ConsentError;
    expect(elsewhere).toMatchObject({ reason: 'wrong_audience', cameoId: 'cameo_federated01' });
    expect(await count('recipe_publications')).toBe(before);
  });

  it('checks a token this instance issued locally, and refuses untrusted issuers without asking them', async () => {
    const me = await signedIn();
    const t = nowS();
    const token = await issueConsentToken(env.DB, { iss: here, sub: 'cameo_localfed0001', aud: '*', scope: ['generate'], iat: t, exp: t + 600, jti: 'jti_local_federated_01' });
    const res = await importLink(remixLinkWithRecipe('https://other.example', withCameo('cameo_localfed0001', token, 7101)), me);
    expect(res.status).toBe(201);
    expect((await res.json<FederatedImportView>()).consent).toEqual([{ cameoId: 'cameo_localfed0001', issuer: here, jti: 'jti_local_federated_01', expiresAt: t + 600 }]);
    await revokeConsent(env.DB, 'jti_local_federated_01');
    const revoked = await importLink(remixLinkWithRecipe('https://other.example', withCameo('cameo_localfed0001', token, 7102)), me);
    expect(revoked.status).toBe(403);
    expect(deserializeError(await revoked.json())).toMatchObject({ reason: 'revoked', cameoId: 'cameo_localfed0001' });

    const stranger = await makeSigningKey('stranger-key');
    const untrusted = await signConsentToken({ iss: 'http://evil.example', sub: 'cameo_localfed0002', aud: '*', scope: ['generate'], iat: t, exp: t + 600, jti: 'jti_untrusted_issuer01' }, stranger.privateKey, stranger.kid);
    const refused = await importLink(remixLinkWithRecipe('https://other.example', withCameo('cameo_localfed0002', untrusted, 7103)), me);
    expect(refused.status).toBe(403);
    const error = deserializeError(await refused.json()) as ConsentError;
    expect(error).toMatchObject({ reason: 'unknown_key', cameoId: 'cameo_localfed0002' });
    expect(error.message).toMatch(/its issuer http:\/\/evil\.example is not trusted: it must be https/);
  });
});
