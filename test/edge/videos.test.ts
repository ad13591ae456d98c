import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { recipeIdOf, type Recipe } from '../../contracts/index.ts';
import { videoKey } from '../../edge/src/videos.ts';
import { DRAFT_RECIPE } from '../fixtures/recipes.ts';
import { BASE, call, person, type Who } from './people.ts';

let n = 0;

/** The smallest ISO-BMFF file: an ftyp box (isom) and an mdat box holding `payload`. */
function mp4(payload: number[]): Uint8Array {
  const ftyp = [0, 0, 0, 24, ...'ftypisom'.split('').map((c) => c.charCodeAt(0)), 0, 0, 2, 0, ...'isommp41'.split('').map((c) => c.charCodeAt(0))];
  const mdat = [0, 0, 0, 8 + payload.length, ...'mdat'.split('').map((c) => c.charCodeAt(0)), ...payload];
  return new Uint8Array([...ftyp, ...mdat]);
}

async function published(who: Who): Promise<string> {
  const recipe: Recipe = { ...DRAFT_RECIPE, seed: 9000 + n++ };
  expect((await call(who, 'POST', '/recipes', { recipe })).status).toBe(201);
  return recipeIdOf(recipe);
}

describe('published videos in R2', () => {
  it('takes the publisher’s MP4 and serves it to anyone, with byte ranges', async () => {
    const maker = await person('vid');
    const id = await published(maker);
    const bytes = mp4(Array.from({ length: 100 }, (_, i) => i));
    const put = await call(maker, 'PUT', `/recipes/${id}/video`, bytes, 'video/mp4');
    expect(put.status).toBe(201);
    expect(await put.json()).toEqual({ recipeId: id, bytes: bytes.byteLength, url: `/api/recipes/${id}/video` });

    const get = await SELF.fetch(`${BASE}/recipes/${id}/video`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('video/mp4');
    expect(get.headers.get('accept-ranges')).toBe('bytes');
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(bytes);

    const part = await SELF.fetch(`${BASE}/recipes/${id}/video`, { headers: { range: 'bytes=24-31' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 24-31/${bytes.byteLength}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.subarray(24, 32));
    const tail = await SELF.fetch(`${BASE}/recipes/${id}/video`, { headers: { range: 'bytes=-4' } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.subarray(bytes.byteLength - 4));
    expect((await SELF.fetch(`${BASE}/recipes/${id}/video`, { headers: { range: 'bytes=5000-' } })).status).toBe(416);
  });

  it('refuses what is not an MP4, and uploads by anyone but a publisher, writing nothing', async () => {
    const [maker, stranger, second] = [await person('vid'), await person('vid'), await person('vid')];
    const recipe: Recipe = { ...DRAFT_RECIPE, seed: 9500 + n++ };
    expect((await call(maker, 'POST', '/recipes', { recipe })).status).toBe(201);
    const id = await recipeIdOf(recipe);

    const png = await call(maker, 'PUT', `/recipes/${id}/video`, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 'video/mp4');
    expect(png.status).toBe(400);
    expect((await png.json<{ message: string }>()).message).toBe('video is not an MP4 file: an ISO-BMFF file starts with an ftyp box (size, then "ftyp"), but its first bytes are 89 50 4e 47 00 00 00 00');
    expect((await call(maker, 'PUT', `/recipes/${id}/video`, mp4([1]), 'video/webm')).status).toBe(400);
    expect((await call(stranger, 'PUT', `/recipes/${id}/video`, mp4([1]), 'video/mp4')).status).toBe(404);
    expect((await call(null, 'PUT', `/recipes/${id}/video`, mp4([1]), 'video/mp4')).status).toBe(401);
    expect(await env.MEDIA.head(videoKey(id))).toBeNull();
    expect((await SELF.fetch(`${BASE}/recipes/${id}/video`)).status).toBe(404);

    // The first publisher sets the video; a later publisher of the same recipe can't replace it.
    expect((await call(maker, 'PUT', `/recipes/${id}/video`, mp4([1, 2, 3]), 'video/mp4')).status).toBe(201);
    expect((await call(second, 'POST', '/recipes', { recipe })).status).toBe(201);
    expect((await call(second, 'PUT', `/recipes/${id}/video`, mp4([9]), 'video/mp4')).status).toBe(409);
    expect((await call(maker, 'PUT', `/recipes/${id}/video`, mp4([4, 5]), 'video/mp4')).status).toBe(201);
  });

  it('deletes the video once nobody publishes the recipe', async () => {
    const [maker, other] = [await person('vid'), await person('vid')];
    const recipe: Recipe = { ...DRAFT_RECIPE, seed: 9700 + n++ };
    const id = await recipeIdOf(recipe);
    expect((await call(maker, 'POST', '/recipes', { recipe })).status).toBe(201);
    expect((await call(other, 'POST', '/recipes', { recipe })).status).toBe(201);
    expect((await call(maker, 'PUT', `/recipes/${id}/video`, mp4([7]), 'video/mp4')).status).toBe(201);
    expect((await call(maker, 'DELETE', `/recipes/${id}/publication`)).status).toBe(204);
    expect(await env.MEDIA.head(videoKey(id))).not.toBeNull();
    expect((await call(other, 'DELETE', `/recipes/${id}/publication`)).status).toBe(204);
    expect(await env.MEDIA.head(videoKey(id))).toBeNull();
  });
});

describe('drafts that use a cameo', () => {
  it('lists every draft (consent token) for the owner, who can delete one: revoked, and its publication down', async () => {
    const [owner, friend, stranger] = [await person('vid'), await person('vid'), await person('vid')];
    const cameo = await (await call(owner, 'POST', '/cameos', { name: 'Me', audience: 'approved' })).json<{ id: string }>();
    expect((await call(owner, 'POST', `/cameos/${cameo.id}/grants`, { handle: friend.me.handle })).status).toBe(201);
    const { token } = await (await call(friend, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'generate' })).json<{ token: string }>();
    const unpublished = await (await call(friend, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'generate' })).json<{ token: string }>();
    expect(unpublished.token).not.toBe(token);
    const recipe: Recipe = { ...DRAFT_RECIPE, seed: 9900 + n++, cameos: [{ cameoId: cameo.id, consentToken: token }] };
    expect((await call(friend, 'POST', '/recipes', { recipe })).status).toBe(201);
    const id = await recipeIdOf(recipe);

    const uses = await (await call(owner, 'GET', `/cameos/${cameo.id}/uses`)).json<{ uses: { recipeId: string }[]; drafts: { jti: string; madeBy: string; revoked: boolean }[] }>();
    expect(uses.uses.map((u) => u.recipeId)).toEqual([id]);
    expect(uses.drafts).toHaveLength(2);
    expect(uses.drafts.every((d) => d.madeBy === friend.me.handle && !d.revoked)).toBe(true);

    const jti = (JSON.parse(atob(token.split('.')[1]!.replaceAll('-', '+').replaceAll('_', '/'))) as { jti: string }).jti;
    expect((await call(stranger, 'DELETE', `/cameos/${cameo.id}/drafts/${jti}`)).status).toBe(404);
    const del = await call(owner, 'DELETE', `/cameos/${cameo.id}/drafts/${jti}`);
    expect(await del.json()).toEqual({ jti, revoked: true, removedPublications: 1 });
    expect(await (await SELF.fetch(`${BASE}/consent/status/${jti}`)).json()).toMatchObject({ revoked: true });
    expect((await SELF.fetch(`${BASE}/recipes/${id}`)).status).toBe(404);
    const after = await (await call(owner, 'GET', `/cameos/${cameo.id}/uses`)).json<{ drafts: { jti: string; revoked: boolean }[] }>();
    expect(after.drafts.find((d) => d.jti === jti)?.revoked).toBe(true);
    expect(after.drafts.filter((d) => !d.revoked)).toHaveLength(1);
  });
});
