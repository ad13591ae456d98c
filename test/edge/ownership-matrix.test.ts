import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { recipeIdOf, type Recipe } from '../../contracts/index.ts';
import { DRAFT_RECIPE } from '../fixtures/recipes.ts';
import { call, person } from './people.ts';

/**
 * One person can never read, change or delete another's cameos, grants, references, drafts,
 * publications, videos, Pro jobs or family links: every owner route, tried by someone else (404, as
 * if it did not exist) and signed out (401), and nothing the owner has changes.
 */
let n = 0;
const MP4 = new Uint8Array([0, 0, 0, 16, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0]);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);

/** Everything the owner has, as rows: any change by someone else shows as a difference. */
async function ownerState(ownerId: string, teenId: string): Promise<string> {
  const q = async (sql: string, ...args: string[]) => JSON.stringify((await env.DB.prepare(sql).bind(...args).all()).results);
  return [
    await q('SELECT id, name, audience, restrictions FROM cameos WHERE owner_id = ? ORDER BY id', ownerId),
    await q('SELECT g.cameo_id, g.grantee_id FROM cameo_grants g JOIN cameos c ON c.id = g.cameo_id WHERE c.owner_id = ? ORDER BY 1, 2', ownerId),
    await q('SELECT t.jti, (SELECT 1 FROM consent_revocations r WHERE r.jti = t.jti) AS revoked FROM consent_tokens t JOIN cameos c ON c.id = t.cameo_id WHERE c.owner_id = ? ORDER BY 1', ownerId),
    await q('SELECT recipe_id FROM recipe_publications WHERE user_id = ? ORDER BY 1', ownerId),
    await q('SELECT settings_json FROM users WHERE id = ?', teenId),
    await q('SELECT child_id, parent_id FROM family_links WHERE parent_id = ?', ownerId),
  ].join('\n');
}

describe('the ownership matrix', () => {
  it("refuses every owner route to everyone but the owner, and changes nothing", async () => {
    const [owner, friend, other, teen] = [await person('own'), await person('own'), await person('own'), await person('own', 15)];
    // The owner's things: a cameo with a grant, a reference, a draft token, a publication that uses
    // the cameo with its video, a Pro job, and a linked teen.
    const cameo = await (await call(owner, 'POST', '/cameos', { name: 'Owner', audience: 'everyone' })).json<{ id: string }>();
    expect((await call(owner, 'POST', `/cameos/${cameo.id}/grants`, { handle: friend.me.handle })).status).toBe(201);
    expect((await call(owner, 'PUT', `/cameos/${cameo.id}/reference/appearance`, PNG, 'image/png')).status).toBe(201);
    const { token } = await (await call(friend, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'generate' })).json<{ token: string }>();
    const jti = (JSON.parse(atob(token.split('.')[1]!.replaceAll('-', '+').replaceAll('_', '/'))) as { jti: string }).jti;
    const recipe: Recipe = { ...DRAFT_RECIPE, seed: 77_000 + n++, cameos: [{ cameoId: cameo.id, consentToken: (await (await call(owner, 'POST', `/cameos/${cameo.id}/consent`, { scope: 'generate' })).json<{ token: string }>()).token }] };
    expect((await call(owner, 'POST', '/recipes', { recipe })).status).toBe(201);
    const recipeId = await recipeIdOf(recipe);
    expect((await call(owner, 'PUT', `/recipes/${recipeId}/video`, MP4, 'video/mp4')).status).toBe(201);
    const job = await (await call(owner, 'POST', '/pro-jobs', { recipeId })).json<{ id: string }>();
    const { code } = await (await call(teen, 'POST', '/family/link-code')).json<{ code: string }>();
    expect((await call(owner, 'POST', '/family/children', { code })).status).toBe(201);

    const routes: [string, string, unknown?, string?][] = [
      ['PATCH', `/cameos/${cameo.id}`, { audience: 'only_me' }],
      ['DELETE', `/cameos/${cameo.id}`],
      ['POST', `/cameos/${cameo.id}/grants`, { handle: other.me.handle }],
      ['DELETE', `/cameos/${cameo.id}/grants/${friend.me.handle}`],
      ['GET', `/cameos/${cameo.id}/reference/appearance`],
      ['PUT', `/cameos/${cameo.id}/reference/appearance`, PNG, 'image/png'],
      ['GET', `/cameos/${cameo.id}/uses`],
      ['DELETE', `/cameos/${cameo.id}/uses/${recipeId}`],
      ['DELETE', `/cameos/${cameo.id}/drafts/${jti}`],
      ['DELETE', `/recipes/${recipeId}/publication`],
      ['PUT', `/recipes/${recipeId}/video`, MP4, 'video/mp4'],
      ['GET', `/pro-jobs/${job.id}`],
      ['GET', `/pro-jobs/${job.id}/video`],
      ['PATCH', `/family/children/${teen.me.id}/settings`, { dailyFeedMinutes: 600 }],
      ['DELETE', `/family/children/${teen.me.id}`],
    ];
    const before = await ownerState(owner.me.id, teen.me.id);
    for (const [method, path, body, type] of routes) {
      const res = await call(other, method, path, body, type);
      expect(res.status, `someone else: ${method} ${path}`).toBe(404);
      expect((await call(null, method, path, body, type)).status, `signed out: ${method} ${path}`).toBe(401);
    }
    expect(await ownerState(owner.me.id, teen.me.id)).toBe(before);
    // The grantee may use the cameo, but is no more its owner than anyone else.
    for (const [method, path, body, type] of routes.slice(0, 9)) expect((await call(friend, method, path, body, type)).status, `grantee: ${method} ${path}`).toBe(404);
    expect(await ownerState(owner.me.id, teen.me.id)).toBe(before);
    // And the owner can do each of these (the reads, at least) — the 404s above were not for want of a route.
    expect((await call(owner, 'GET', `/cameos/${cameo.id}/uses`)).status).toBe(200);
    expect((await call(owner, 'GET', `/pro-jobs/${job.id}`)).status).toBe(200);
    expect((await call(owner, 'GET', `/cameos/${cameo.id}/reference/appearance`)).status).toBe(200);
  });
});
