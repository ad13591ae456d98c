import { env, SELF } from 'cloudflare:test';
import type { JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { CONSENT_HEADER, type ConsentError, deserializeError, signConsentToken, verifyConsentToken } from '../../contracts/index.ts';
import { sha256Hex } from '../../edge/src/auth.ts';
import type { CameoView } from '../../edge/src/cameos.ts';
import type { RecipeView } from '../../edge/src/recipes.ts';
import { issueConsentToken } from '../../edge/src/signing-keys.ts';
import type { Recipe } from '../../contracts/index.ts';
import { makeSigningKey } from '../fixtures/consent.ts';
import { DRAFT_RECIPE } from '../fixtures/recipes.ts';
import { BASE, call, person, type Who } from './people.ts';

const jwks = async () => (await SELF.fetch('http://edge.test/.well-known/jwks.json')).json<JSONWebKeySet>();
const revoked = async (jti: string) => (await (await SELF.fetch(`${BASE}/consent/status/${jti}`)).json<{ revoked: boolean }>()).revoked;

async function cameoOf(owner: Who, audience = 'approved', restrictions = 'no sports, nothing scary'): Promise<CameoView> {
  const res = await call(owner, 'POST', '/cameos', { name: 'Me, waving', audience, restrictions });
  expect(res.status).toBe(201);
  return res.json<CameoView>();
}

describe('cameos, grants and consent tokens', () => {
  it('lets the owner make, list, change and delete a cameo', async () => {
    const owner = await person('cam');
    const cameo = await cameoOf(owner);
    expect(cameo).toMatchObject({ name: 'Me, waving', audience: 'approved', restrictions: 'no sports, nothing scary', grants: [] });
    const list = await (await call(owner, 'GET', '/cameos')).json<{ cameos: CameoView[] }>();
    expect(list.cameos.map((x) => x.id)).toContain(cameo.id);
    const changed = await (await call(owner, 'PATCH', `/cameos/${cameo.id}`, { audience: 'everyone' })).json<CameoView>();
    expect(changed.audience).toBe('everyone');
    expect((await call(owner, 'DELETE', `/cameos/${cameo.id}`)).status).toBe(204);
    expect((await call(owner, 'GET', `/cameos/${cameo.id}`)).status).toBe(404);
  });

  it('issues a grantee a short-lived token, signed by the instance, carrying the restrictions', async () => {
    const [owner, friend] = [await person('cam'), await person('cam')];
    const cameo = await cameoOf(owner);
    expect((await call(owner, 'POST', `/cameos/${cameo.id}/grants`, { handle: friend.me.handle })).status).toBe(201);
    const res = await call(friend, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'generate' });
    expect(res.status).toBe(201);
    const { token, audience } = await res.json<{ token: string; audience: string }>();
    const claims = await verifyConsentToken(token, await jwks(), { audience, scope: 'generate', issuer: 'http://edge.test' });
    expect(claims).toMatchObject({ sub: cameo.id, restrictions: 'no sports, nothing scary', scope: ['generate'] });
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(3600);
  });

  it('refuses a token to people outside the audience: not granted → 403, only-me → 404', async () => {
    const [owner, stranger] = [await person('cam'), await person('cam')];
    const approved = await cameoOf(owner, 'approved');
    const res = await call(stranger, 'POST', `/cameos/${approved.id}/consent`, { scope: 'generate' });
    expect(res.status).toBe(403);
    expect(deserializeError(await res.json()).message).toMatch(/has not granted you this cameo/);
    const privateCameo = await cameoOf(owner, 'only_me');
    expect((await call(stranger, 'POST', `/cameos/${privateCameo.id}/consent`, { scope: 'generate' })).status).toBe(404);
    const open = await cameoOf(owner, 'everyone');
    expect((await call(stranger, 'POST', `/cameos/${open.id}/consent`, { scope: 'remix' })).status).toBe(201);
  });

  it('revoking a grant revokes its live tokens at once; deleting the cameo revokes all of them', async () => {
    const [owner, a, b] = [await person('cam'), await person('cam'), await person('cam')];
    const cameo = await cameoOf(owner);
    for (const who of [a, b]) await call(owner, 'POST', `/cameos/${cameo.id}/grants`, { handle: who.me.handle });
    const jtiOf = async (who: Who) => {
      const { token } = await (await call(who, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'generate' })).json<{ token: string }>();
      return JSON.parse(atob(token.split('.')[1]!.replaceAll('-', '+').replaceAll('_', '/'))).jti as string;
    };
    const [ja, jb] = [await jtiOf(a), await jtiOf(b)];
    const revoke = await call(owner, 'DELETE', `/cameos/${cameo.id}/grants/${a.me.handle}`);
    expect(await revoke.json()).toEqual({ revokedTokens: 1 });
    expect(await revoked(ja)).toBe(true);
    expect(await revoked(jb)).toBe(false);
    expect((await call(a, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'generate' })).status).toBe(403);
    await call(owner, 'DELETE', `/cameos/${cameo.id}`);
    expect(await revoked(jb)).toBe(true);
  });

  it('refuses forged, expired and wrong-audience tokens', async () => {
    const [owner, friend] = [await person('cam'), await person('cam')];
    const cameo = await cameoOf(owner);
    await call(owner, 'POST', `/cameos/${cameo.id}/grants`, { handle: friend.me.handle });
    const { token, audience } = await (await call(friend, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'generate' })).json<{ token: string; audience: string }>();
    const keys = await jwks();
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = `${h}.${btoa(atob(p.replaceAll('-', '+').replaceAll('_', '/')).replace(cameo.id, 'cameo_someoneelse00000000')).replaceAll('=', '').replaceAll('+', '-').replaceAll('/', '_')}.${s}`;
    const reason = async (t: string, expect: Parameters<typeof verifyConsentToken>[2]) => ((await verifyConsentToken(t, keys, expect).catch((e: unknown) => e)) as ConsentError).reason;
    expect(await reason(forged, { audience, scope: 'generate' })).toBe('bad_signature');
    expect(await reason(token, { audience, scope: 'generate', now: new Date(Date.now() + 2 * 3600 * 1000) })).toBe('expired');
    expect(await reason(token, { audience: 'http://edge.test/u/someone_else', scope: 'generate' })).toBe('wrong_audience');
    expect(await reason(token, { audience, scope: 'remix' })).toBe('wrong_scope');
  });

  it("opens a 'mutuals' cameo to people who and the owner have granted each other a cameo", async () => {
    const [owner, friend] = [await person('cam'), await person('cam')];
    const mutualsOnly = await cameoOf(owner, 'mutuals');
    const approvedOnly = await cameoOf(owner, 'approved');
    const ask = (id: string) => call(friend, 'POST', `/cameos/${id}/consent`, { scope: 'generate' });
    expect((await ask(mutualsOnly.id)).status).toBe(403);
    // One way is not mutual: the owner grants the friend another cameo.
    const other = await cameoOf(owner, 'approved');
    expect((await call(owner, 'POST', `/cameos/${other.id}/grants`, { handle: friend.me.handle })).status).toBe(201);
    expect((await ask(mutualsOnly.id)).status).toBe(403);
    // Both ways is: the friend grants the owner one of theirs.
    const friends = await cameoOf(friend, 'approved');
    expect((await call(friend, 'POST', `/cameos/${friends.id}/grants`, { handle: owner.me.handle })).status).toBe(201);
    expect((await ask(mutualsOnly.id)).status).toBe(201);
    // 'approved' still means this cameo's own grants only.
    expect((await ask(approvedOnly.id)).status).toBe(403);
  });

  it('never lets one person read, change or delete another person\'s cameo or grants', async () => {
    const [owner, other] = [await person('cam'), await person('cam')];
    const cameo = await cameoOf(owner, 'everyone');
    await call(owner, 'POST', `/cameos/${cameo.id}/grants`, { handle: other.me.handle });
    const seen = await (await call(other, 'GET', `/cameos/${cameo.id}`)).json<CameoView>();
    expect(seen.grants).toBeUndefined();
    const attempts: [string, string, unknown?][] = [
      ['PATCH', `/cameos/${cameo.id}`, { audience: 'only_me' }],
      ['DELETE', `/cameos/${cameo.id}`],
      ['POST', `/cameos/${cameo.id}/grants`, { handle: other.me.handle }],
      ['DELETE', `/cameos/${cameo.id}/grants/${other.me.handle}`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await call(other, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const after = await (await call(owner, 'GET', `/cameos/${cameo.id}`)).json<CameoView>();
    expect(after.audience).toBe('everyone');
    expect(after.grants?.map((g) => g.handle)).toEqual([other.me.handle]);
    expect((await call(other, 'GET', '/cameos')).status).toBe(200);
    expect((await (await call(other, 'GET', '/cameos')).json<{ cameos: CameoView[] }>()).cameos).toEqual([]);
    for (const [method, path, body] of [...attempts, ['GET', '/cameos'] as [string, string]]) expect((await call(null, method, path, body)).status, `signed out ${method} ${path}`).toBe(401);
  });

  it('refuses bad bodies with 400 naming the field and writes nothing', async () => {
    const owner = await person('cam');
    const before = (await env.DB.prepare('SELECT COUNT(*) AS n FROM cameos').first<{ n: number }>())?.n;
    const res = await call(owner, 'POST', '/cameos', { name: '', audience: 'the whole world' });
    expect(res.status).toBe(400);
    const message = deserializeError(await res.json()).message;
    expect(message).toMatch(/cameo\.name/);
    expect(message).toMatch(/cameo\.audience/);
    expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM cameos').first<{ n: number }>())?.n).toBe(before);
  });
});

describe('recipes that use a cameo', () => {
  const recipeWith = (cameoId: string, consentToken: string, seed: number): Recipe => ({ ...DRAFT_RECIPE, seed, cameos: [{ cameoId, consentToken }] });
  const publish = (who: Who, recipe: Recipe) => call(who, 'POST', '/recipes', { recipe });

  async function granted() {
    const [owner, friend, stranger] = [await person('cam'), await person('cam'), await person('cam')];
    const cameo = await cameoOf(owner);
    await call(owner, 'POST', `/cameos/${cameo.id}/grants`, { handle: friend.me.handle });
    const { token } = await (await call(friend, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'generate' })).json<{ token: string }>();
    return { owner, friend, stranger, cameo, token };
  }
  const reasonOf = async (res: Response) => ({ status: res.status, ...(deserializeError(await res.json()) as ConsentError) });

  it('publishes with a valid token, and the owner sees the use and can take it down', async () => {
    const { owner, friend, cameo, token } = await granted();
    const res = await publish(friend, recipeWith(cameo.id, token, 501));
    expect(res.status).toBe(201);
    const { id } = await res.json<RecipeView>();
    const uses = await (await call(owner, 'GET', `/cameos/${cameo.id}/uses`)).json<{ uses: { recipeId: string; publishedBy: string }[] }>();
    expect(uses.uses).toEqual([expect.objectContaining({ recipeId: id, publishedBy: friend.me.handle })]);
    expect((await call(friend, 'GET', `/cameos/${cameo.id}/uses`)).status).toBe(404);
    expect(await (await call(owner, 'DELETE', `/cameos/${cameo.id}/uses/${id}`)).json()).toEqual({ removedPublications: 1 });
    expect((await SELF.fetch(`${BASE}/recipes/${id}`)).status).toBe(404);
  });

  it('refuses forged, expired, wrong-audience and revoked tokens, writing nothing', async () => {
    const { owner, friend, stranger, cameo, token } = await granted();
    const count = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM recipe_publications').first<{ n: number }>())?.n;
    const before = await count();
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect(await reasonOf(await publish(friend, recipeWith(cameo.id, forged, 502)))).toMatchObject({ status: 403, reason: 'bad_signature' });
    expect(await reasonOf(await publish(stranger, recipeWith(cameo.id, token, 503)))).toMatchObject({ status: 403, reason: 'wrong_audience' });
    const t = Math.floor(Date.now() / 1000);
    const expired = await issueConsentToken(env.DB, { iss: 'http://edge.test', sub: cameo.id, aud: `http://edge.test/u/${friend.me.handle}`, scope: ['generate'], iat: t - 7200, exp: t - 3600, jti: 'jti_expired_0000000001' });
    expect(await reasonOf(await publish(friend, recipeWith(cameo.id, expired, 504)))).toMatchObject({ status: 403, reason: 'expired' });
    await call(owner, 'DELETE', `/cameos/${cameo.id}/grants/${friend.me.handle}`);
    expect(await reasonOf(await publish(friend, recipeWith(cameo.id, token, 505)))).toMatchObject({ status: 403, reason: 'revoked' });
    expect(await count()).toBe(before);
  });
});

describe('cameo reference media (R2, owner-only)', () => {
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 64 }, (_, i) => i)]);
  const put = (who: Who | null, id: string, kind: string, body: Uint8Array, type: string) =>
    SELF.fetch(`${BASE}/cameos/${id}/reference/${kind}`, { method: 'PUT', headers: { 'content-type': type, ...(who ? { cookie: who.cookie, 'x-csrf-token': who.csrf } : {}) }, body });

  it('stores the appearance image for the owner only, and deletes it with the cameo', async () => {
    const [owner, other] = [await person('cam'), await person('cam')];
    const cameo = await cameoOf(owner, 'everyone');
    const res = await put(owner, cameo.id, 'appearance', png, 'image/png');
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ kind: 'appearance', contentType: 'image/png', bytes: png.length });
    const back = await SELF.fetch(`${BASE}/cameos/${cameo.id}/reference/appearance`, { headers: { cookie: owner.cookie } });
    expect(back.status).toBe(200);
    expect(back.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await back.arrayBuffer())).toEqual(png);
    // Even with the cameo open to everyone, its references are the owner's alone.
    expect((await SELF.fetch(`${BASE}/cameos/${cameo.id}/reference/appearance`, { headers: { cookie: other.cookie } })).status).toBe(404);
    expect((await put(other, cameo.id, 'appearance', png, 'image/png')).status).toBe(404);
    expect(await env.MEDIA.head(`cameos/${cameo.id}/appearance`)).not.toBeNull();
    await call(owner, 'DELETE', `/cameos/${cameo.id}`);
    expect(await env.MEDIA.head(`cameos/${cameo.id}/appearance`)).toBeNull();
  });

  it('refuses the wrong type, bytes that are not what they claim, and oversized files, storing nothing', async () => {
    const owner = await person('cam');
    const cameo = await cameoOf(owner);
    const wrongType = await put(owner, cameo.id, 'appearance', png, 'image/gif');
    expect(wrongType.status).toBe(400);
    expect(deserializeError(await wrongType.json()).message).toMatch(/reference\.appearance must be sent as image\/png, image\/jpeg, image\/webp/);
    const lying = await put(owner, cameo.id, 'voice', png, 'audio/ogg');
    expect(lying.status).toBe(400);
    expect(deserializeError(await lying.json()).message).toMatch(/is not a audio\/ogg file/);
    const huge = new Uint8Array(5 * 1024 * 1024 + 1);
    huge.set(png);
    expect((await put(owner, cameo.id, 'appearance', huge, 'image/png')).status).toBe(413);
    expect((await put(owner, cameo.id, 'face', png, 'image/png')).status).toBe(400);
    expect(await env.MEDIA.head(`cameos/${cameo.id}/appearance`)).toBeNull();
    expect(await env.MEDIA.head(`cameos/${cameo.id}/voice`)).toBeNull();
  });
});

describe("a cameo's appearance, for a consent token's grantee, the cameo's owner, or a render node rendering it", () => {
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 96 }, (_, i) => (i * 7) & 0xff)]);
  /** Who asks: a person's session, a render node's token (`node`), or any `authorization` as is; the consent token goes in its own header. */
  interface Asking {
    readonly who?: Who;
    readonly node?: string;
    readonly authorization?: string;
    readonly consent?: string;
  }
  const appearance = (id: string, { who, node, authorization, consent }: Asking = {}) =>
    SELF.fetch(`${BASE}/cameos/${id}/appearance`, {
      headers: {
        ...(who ? { cookie: who.cookie } : {}),
        ...(node !== undefined ? { authorization: `Bearer ${node}` } : authorization !== undefined ? { authorization } : {}),
        ...(consent !== undefined ? { [CONSENT_HEADER]: consent } : {}),
      },
    });
  const refusal = async (res: Response) => {
    const error = deserializeError(await res.json()) as ConsentError;
    return { status: res.status, authenticate: res.headers.get('www-authenticate'), ...error, message: error.message };
  };
  const mayFetch = "only its grantee, the cameo's owner or a render node rendering a recipe with it may fetch the appearance";

  /** An owner's cameo with an appearance, granted to a friend who holds a token for it. */
  async function shared(audience = 'approved') {
    const [owner, friend] = [await person('look'), await person('look')];
    const cameo = await cameoOf(owner, audience);
    expect((await call(owner, 'PUT', `/cameos/${cameo.id}/reference/appearance`, png, 'image/png')).status).toBe(201);
    expect((await call(owner, 'POST', `/cameos/${cameo.id}/grants`, { handle: friend.me.handle })).status).toBe(201);
    const { token } = await (await call(friend, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'generate' })).json<{ token: string }>();
    return { owner, friend, cameo, token };
  }

  let nodes = 0;
  async function renderNode(): Promise<string> {
    const token = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
    await env.DB.prepare('INSERT INTO render_nodes (id, name, token_hash, created_at) VALUES (?, ?, ?, 0)').bind(`node_look_${nodes++}`, 'look', await sha256Hex(token)).run();
    return token;
  }
  const nodeCall = (token: string, path: string, body?: unknown) =>
    SELF.fetch(`${BASE}/render${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  /** `who` publishes `recipe` and submits it as a Pro job, which `node` leases (after finishing whatever waited before it). */
  async function leased(who: Who, recipe: Recipe, node: string): Promise<{ jobId: string; recipeId: string }> {
    for (let res = await nodeCall(node, '/lease'); res.status !== 204; res = await nodeCall(node, '/lease')) {
      const { id } = await res.json<{ id: string }>();
      await nodeCall(node, `/jobs/${id}/complete`, { resultKey: `renders/${id}.mp4` });
    }
    const published = await call(who, 'POST', '/recipes', { recipe });
    expect(published.status).toBe(201);
    const { id: recipeId } = await published.json<RecipeView>();
    const submitted = await call(who, 'POST', '/pro-jobs', { recipeId });
    expect(submitted.status).toBe(201);
    const { id: jobId } = await submitted.json<{ id: string }>();
    expect((await (await nodeCall(node, '/lease')).json<{ id: string }>()).id).toBe(jobId);
    return { jobId, recipeId };
  }

  it('streams the image as uploaded to the grantee signed in with a live token, and to the owner; never cached', async () => {
    const { owner, friend, cameo, token } = await shared();
    const res = await appearance(cameo.id, { who: friend, consent: token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(png);
    // Any scope draws the cameo.
    const { token: remix } = await (await call(friend, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'remix' })).json<{ token: string }>();
    expect((await appearance(cameo.id, { who: friend, consent: remix })).status).toBe(200);
    // The owner, with a token their grantee holds.
    const byOwner = await appearance(cameo.id, { who: owner, consent: token });
    expect(byOwner.status).toBe(200);
    expect(new Uint8Array(await byOwner.arrayBuffer())).toEqual(png);
  });

  it("refuses a leaked token to anyone else: another signed-in person 403, nobody signed in 401, a token for '*' any signed-in person", async () => {
    const { friend, cameo, token } = await shared();
    const stranger = await person('look');
    // A published recipe shows its consent token to anyone who reads it.
    const { id: recipeId } = await (await call(friend, 'POST', '/recipes', { recipe: { ...DRAFT_RECIPE, seed: 601, cameos: [{ cameoId: cameo.id, consentToken: token }] } })).json<RecipeView>();
    const leaked = (await (await SELF.fetch(`${BASE}/recipes/${recipeId}`)).json<RecipeView>()).recipe.cameos[0]?.consentToken;
    expect(leaked).toBe(token);

    expect(await refusal(await appearance(cameo.id, { who: stranger, consent: token }))).toMatchObject({
      status: 403,
      code: 'consent_invalid',
      reason: 'wrong_audience',
      cameoId: cameo.id,
      message: `consent token refused: it was issued to http://edge.test/u/${friend.me.handle}; ${mayFetch}`,
    });
    const signedOut = await refusal(await appearance(cameo.id, { consent: token }));
    expect(signedOut).toMatchObject({ status: 401, code: 'unauthorized', authenticate: 'Bearer' });
    expect(signedOut.message).toMatch(/sign in as the consent token's grantee or the cameo's owner, or, as a render node, send your node token as Authorization: Bearer <token> \(with the consent token as Zoetrope-Consent: <token>\)/);
    // The old way (the token as the credential) and a node token nobody registered are not credentials either.
    for (const authorization of [`Consent ${token}`, `Bearer ${'ab'.repeat(32)}`]) {
      expect(await refusal(await appearance(cameo.id, { authorization, consent: token })), authorization.slice(0, 7)).toMatchObject({ status: 401, authenticate: 'Bearer', message: 'a render node must send its token as Authorization: Bearer <token>' });
      expect((await appearance(cameo.id, { who: friend, authorization, consent: token })).status).toBe(401);
    }

    // The owner chose "everyone": a token for '*' draws the cameo for any signed-in person (and still nobody signed out).
    const t = Math.floor(Date.now() / 1000);
    const anyone = await issueConsentToken(env.DB, { iss: 'http://edge.test', sub: cameo.id, aud: '*', scope: ['generate'], iat: t, exp: t + 600, jti: 'jti_appearance_anyone001' });
    expect((await appearance(cameo.id, { who: stranger, consent: anyone })).status).toBe(200);
    expect((await appearance(cameo.id, { consent: anyone })).status).toBe(401);
  });

  it('hands the appearance to a render node while it holds the lease of a job whose recipe carries that very token, and to no other node', async () => {
    const { owner, friend, cameo, token } = await shared();
    const [gpu, other] = [await renderNode(), await renderNode()];
    const { jobId } = await leased(friend, { ...DRAFT_RECIPE, seed: 611, cameos: [{ cameoId: cameo.id, consentToken: token }] }, gpu);
    const res = await appearance(cameo.id, { node: gpu, consent: token });
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(png);
    const noLease = `consent token refused: this render node holds the lease of no job whose recipe carries it; ${mayFetch}`;
    // Another node, which holds no such lease.
    expect(await refusal(await appearance(cameo.id, { node: other, consent: token }))).toMatchObject({ status: 403, reason: 'wrong_audience', cameoId: cameo.id, message: noLease });
    // A live token for the same cameo that the recipe does not carry.
    const { token: another } = await (await call(friend, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'remix' })).json<{ token: string }>();
    expect(await refusal(await appearance(cameo.id, { node: gpu, consent: another }))).toMatchObject({ status: 403, message: noLease });
    // The lease is gone once the job is done.
    expect((await nodeCall(gpu, `/jobs/${jobId}/complete`, { resultKey: `renders/${jobId}.mp4` })).status).toBe(200);
    expect(await refusal(await appearance(cameo.id, { node: gpu, consent: token }))).toMatchObject({ status: 403, message: noLease });

    // A use the owner took down is not drawn, even by the node holding its job.
    const again = await leased(friend, { ...DRAFT_RECIPE, seed: 612, cameos: [{ cameoId: cameo.id, consentToken: token }] }, gpu);
    expect((await appearance(cameo.id, { node: gpu, consent: token })).status).toBe(200);
    expect((await call(owner, 'DELETE', `/cameos/${cameo.id}/uses/${again.recipeId}`)).status).toBe(200);
    expect(await refusal(await appearance(cameo.id, { node: gpu, consent: token }))).toMatchObject({ status: 403, message: noLease });
  });

  it("renders a recipe with a cameo only for the token's grantee: a stranger cannot send someone's published recipe to a render node", async () => {
    const { friend, cameo, token } = await shared();
    const stranger = await person('look');
    const { id: recipeId } = await (await call(friend, 'POST', '/recipes', { recipe: { ...DRAFT_RECIPE, seed: 621, cameos: [{ cameoId: cameo.id, consentToken: token }] } })).json<RecipeView>();
    const refused = await call(stranger, 'POST', '/pro-jobs', { recipeId });
    expect(await refusal(refused)).toMatchObject({ status: 403, code: 'consent_invalid', reason: 'wrong_audience', cameoId: cameo.id });
    expect((await refusal(await call(stranger, 'POST', '/pro-jobs', { recipeId }))).message).toMatch(new RegExp(`^recipe\\.cameos\\[0\\] \\(cameo ${cameo.id}\\): consent token refused: .*; a recipe with a cameo is rendered for the person its consent token was issued to$`));
    // The grantee may send it.
    expect((await call(friend, 'POST', '/pro-jobs', { recipeId })).status).toBe(201);
  });

  it('answers 401 without a consent token, or with one this instance cannot verify', async () => {
    const { friend, cameo, token } = await shared();
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const otherPayload = btoa(JSON.stringify({ ...JSON.parse(atob(p.replaceAll('-', '+').replaceAll('_', '/'))), sub: 'cameo_someoneelse00000000' })).replaceAll('=', '').replaceAll('+', '-').replaceAll('/', '_');
    for (const [what, consent, message] of [
      ['no header', undefined, /send a consent token for the cameo as Zoetrope-Consent: <token>/],
      ['an auth scheme in front', `Consent ${token}`, /as Zoetrope-Consent: <token>/],
      ['not a JWS', 'not-a-token', /as Zoetrope-Consent: <token>/],
      ['three segments of nothing', 'aaaa.bbbb.cccc', /not one this instance issued \(malformed\)/],
      ['a forged signature', forged, /not one this instance issued \(bad signature\)/],
      ['a claim changed under the signature', `${h}.${otherPayload}.${s}`, /not one this instance issued \(bad signature\)/],
    ] as const) {
      const answer = await refusal(await appearance(cameo.id, { who: friend, ...(consent === undefined ? {} : { consent }) }));
      expect(answer, what).toMatchObject({ status: 401, code: 'unauthorized' });
      expect(answer.message, what).toMatch(message);
    }
  });

  it('answers 403 to a token that is expired, revoked, for another cameo, or issued by another instance', async () => {
    const { owner, friend, cameo, token } = await shared();
    const t = Math.floor(Date.now() / 1000);
    const expired = await issueConsentToken(env.DB, { iss: 'http://edge.test', sub: cameo.id, aud: `http://edge.test/u/${friend.me.handle}`, scope: ['generate'], iat: t - 7200, exp: t - 3600, jti: 'jti_appearance_expired01' });
    expect(await refusal(await appearance(cameo.id, { who: friend, consent: expired }))).toMatchObject({ status: 403, code: 'consent_invalid', reason: 'expired', cameoId: cameo.id, message: expect.stringMatching(/it has expired/) });

    // Another cameo's token, for a cameo that exists and one that does not: the same answer.
    const other = await shared();
    expect(await refusal(await appearance(other.cameo.id, { who: friend, consent: token }))).toMatchObject({ status: 403, reason: 'wrong_scope', message: `consent token refused: it is for cameo ${cameo.id}, not ${other.cameo.id}` });
    expect(await refusal(await appearance('cameo_nosuchcameo000000', { who: friend, consent: token }))).toMatchObject({ status: 403, reason: 'wrong_scope', message: `consent token refused: it is for cameo ${cameo.id}, not cameo_nosuchcameo000000` });

    const elsewhere = await makeSigningKey('k-elsewhere');
    const foreign = await signConsentToken({ iss: 'https://other.zoetrope.example', sub: cameo.id, aud: 'https://other.zoetrope.example/u/someone', scope: ['generate'], iat: t, exp: t + 600, jti: 'jti_appearance_foreign01' }, elsewhere.privateKey, elsewhere.kid);
    expect(await refusal(await appearance(cameo.id, { who: friend, consent: foreign }))).toMatchObject({ status: 403, reason: 'unknown_key', message: expect.stringMatching(/issued by https:\/\/other\.zoetrope\.example, not by this instance \(http:\/\/edge\.test\)/) });

    expect((await appearance(cameo.id, { who: friend, consent: token })).status).toBe(200);
    expect((await call(owner, 'DELETE', `/cameos/${cameo.id}/grants/${friend.me.handle}`)).status).toBe(200);
    expect(await refusal(await appearance(cameo.id, { who: friend, consent: token }))).toMatchObject({ status: 403, reason: 'revoked', cameoId: cameo.id, message: expect.stringMatching(new RegExp(`revoked \\(by the owner of cameo ${cameo.id}`)) });
    // Deleting the cameo revokes every live token, so its appearance is refused, not merely missing.
    const { token: ownToken } = await (await call(owner, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'generate' })).json<{ token: string }>();
    expect((await call(owner, 'DELETE', `/cameos/${cameo.id}`)).status).toBe(204);
    expect(await refusal(await appearance(cameo.id, { who: owner, consent: ownToken }))).toMatchObject({ status: 403, reason: 'revoked' });
  });

  it('answers 404 to a valid token when the cameo has no appearance, or is gone', async () => {
    const owner = await person('look');
    const bare = await cameoOf(owner, 'only_me');
    const { token } = await (await call(owner, 'POST', `/cameos/${bare.id}/consent`, { scope: 'generate' })).json<{ token: string }>();
    const none = await appearance(bare.id, { who: owner, consent: token });
    expect(none.status).toBe(404);
    expect(deserializeError(await none.json()).message).toBe(`appearance reference of cameo ${bare.id} was not found`);
    // A token outliving its cameo (deleting one revokes its tokens, so only a token issued outside the routes can).
    const t = Math.floor(Date.now() / 1000);
    const orphan = await issueConsentToken(env.DB, { iss: 'http://edge.test', sub: 'cameo_goneforgood000000', aud: `http://edge.test/u/${owner.me.handle}`, scope: ['generate'], iat: t, exp: t + 600, jti: 'jti_appearance_orphan001' });
    const gone = await appearance('cameo_goneforgood000000', { who: owner, consent: orphan });
    expect(gone.status).toBe(404);
    expect(deserializeError(await gone.json()).message).toBe('cameo cameo_goneforgood000000 was not found');
    // To anyone else holding that token, a missing cameo is refused like a present one.
    expect(await refusal(await appearance('cameo_goneforgood000000', { who: await person('look'), consent: orphan }))).toMatchObject({ status: 403, reason: 'wrong_audience' });
  });

  it('tells a caller without a valid token, or without a session or node token, nothing about whether the cameo exists', async () => {
    const { cameo, token } = await shared('only_me');
    const stranger = await person('look');
    const answers = [];
    for (const id of [cameo.id, 'cameo_nosuchcameo000000']) {
      for (const asking of [{ who: stranger }, { who: stranger, consent: 'aaaa.bbbb.cccc' }, {}, { consent: token }]) {
        const res = await appearance(id, asking);
        answers.push({ status: res.status, body: (await res.text()).replaceAll(id, '<id>') });
      }
    }
    expect(answers.slice(0, 4)).toEqual(answers.slice(4));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 401, 401, 401]);
  });
});
