import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { deserializeError, remixLinkById, remixLinkWithRecipe, type Recipe } from '../../contracts/index.ts';
import type { Me } from '../../edge/src/accounts.ts';
import type { RecipeView } from '../../edge/src/recipes.ts';
import { DRAFT_RECIPE, DRAFT_RECIPE_ID } from '../fixtures/recipes.ts';

const BASE = 'http://edge.test/api';
let n = 0;

async function signedIn(): Promise<{ cookie: string; csrf: string; me: Me }> {
  const res = await SELF.fetch(`${BASE}/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handle: `maker_${Date.now() % 100000}_${n++}`, password: 'correct horse battery', birthDate: '1990-01-01' }) });
  const me = await res.json<Me>();
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: me.csrfToken, me };
}

const post = (path: string, body: unknown, who?: { cookie: string; csrf: string }) =>
  SELF.fetch(`${BASE}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(who ? { cookie: who.cookie, 'x-csrf-token': who.csrf } : {}) }, body: JSON.stringify(body) });
const count = async (table: string) => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())?.n ?? 0;

describe('recipes and remix links', () => {
  it('publishes a recipe under its content id and fetches it back', async () => {
    const me = await signedIn();
    const res = await post('/recipes', { recipe: DRAFT_RECIPE }, me);
    expect(res.status).toBe(201);
    const view = await res.json<RecipeView>();
    expect(view.id).toBe(DRAFT_RECIPE_ID);
    expect(view.recipe).toEqual(DRAFT_RECIPE);
    const got = await SELF.fetch(`${BASE}/recipes/${DRAFT_RECIPE_ID}`);
    expect(got.status).toBe(200);
    expect((await got.json<RecipeView>()).recipe).toEqual(DRAFT_RECIPE);
  });

  it('keeps lineage: a remix names its parent, and the parent lists its remixes', async () => {
    const me = await signedIn();
    await post('/recipes', { recipe: DRAFT_RECIPE }, me);
    const remix: Recipe = { ...DRAFT_RECIPE, prompt: 'The same ball, now blue, in a park', seed: 8, parent: DRAFT_RECIPE_ID };
    const child = await (await post('/recipes', { recipe: remix }, me)).json<RecipeView>();
    expect(child.parent).toBe(DRAFT_RECIPE_ID);
    const parent = await (await SELF.fetch(`${BASE}/recipes/${DRAFT_RECIPE_ID}`)).json<RecipeView>();
    expect(parent.children).toContain(child.id);
  });

  it('accepts a remix link: a fragment recipe after validating it, an id link by looking it up', async () => {
    const me = await signedIn();
    const recipe: Recipe = { ...DRAFT_RECIPE, seed: 4242 };
    const imported = await post('/recipes/from-link', { link: remixLinkWithRecipe('https://other.example', recipe) }, me);
    expect(imported.status).toBe(201);
    const view = await imported.json<RecipeView>();
    expect(view.recipe.seed).toBe(4242);
    const byId = await post('/recipes/from-link', { link: remixLinkById('https://other.example', view.id) }, me);
    expect(byId.status).toBe(200);
    expect((await byId.json<RecipeView>()).id).toBe(view.id);
  });

  it('refuses a tampered fragment recipe, naming the field, and writes nothing', async () => {
    const me = await signedIn();
    const [recipes, publications] = [await count('recipes'), await count('recipe_publications')];
    const bad = remixLinkWithRecipe('https://other.example', { ...DRAFT_RECIPE, seed: 99 }).replace(/#recipe=.*/, `#recipe=${btoa(JSON.stringify({ ...DRAFT_RECIPE, durationS: 99 })).replaceAll('=', '').replaceAll('+', '-').replaceAll('/', '_')}`);
    const res = await post('/recipes/from-link', { link: bad }, me);
    expect(res.status).toBe(400);
    expect(deserializeError(await res.json()).message).toMatch(/recipe\.durationS/);
    expect([await count('recipes'), await count('recipe_publications')]).toEqual([recipes, publications]);
    const notALink = await post('/recipes/from-link', { link: 'https://example.com/watch?v=1' }, me);
    expect(notALink.status).toBe(400);
  });

  it('answers an unknown id with 404 and a malformed id with 400', async () => {
    expect((await SELF.fetch(`${BASE}/recipes/${'a'.repeat(52)}`)).status).toBe(404);
    const bad = await SELF.fetch(`${BASE}/recipes/not-an-id`);
    expect(bad.status).toBe(400);
    expect(deserializeError(await bad.json()).message).toMatch(/recipe\.id must be a recipe id/);
  });

  it('needs a session (and its CSRF token) to publish; one person cannot delete another\'s publication', async () => {
    expect((await post('/recipes', { recipe: DRAFT_RECIPE })).status).toBe(401);
    const alice = await signedIn();
    const bob = await signedIn();
    const recipe: Recipe = { ...DRAFT_RECIPE, seed: 31337 };
    const { id } = await (await post('/recipes', { recipe }, alice)).json<RecipeView>();
    const noCsrf = await SELF.fetch(`${BASE}/recipes`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: alice.cookie }, body: JSON.stringify({ recipe }) });
    expect(noCsrf.status).toBe(403);
    const del = (who: { cookie: string; csrf: string }) => SELF.fetch(`${BASE}/recipes/${id}/publication`, { method: 'DELETE', headers: { cookie: who.cookie, 'x-csrf-token': who.csrf } });
    expect((await del(bob)).status).toBe(404);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM recipe_publications WHERE recipe_id = ?').bind(id).first<{ n: number }>()).toEqual({ n: 1 });
    expect((await del(alice)).status).toBe(204);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM recipe_publications WHERE recipe_id = ?').bind(id).first<{ n: number }>()).toEqual({ n: 0 });
  });

  it('refuses malformed JSON, wrong types and oversized bodies with 4xx and no partial write', async () => {
    const me = await signedIn();
    const before = [await count('recipes'), await count('recipe_publications')];
    const headers = { 'content-type': 'application/json', cookie: me.cookie, 'x-csrf-token': me.csrf };
    expect((await SELF.fetch(`${BASE}/recipes`, { method: 'POST', headers, body: '{"recipe":' })).status).toBe(400);
    expect((await SELF.fetch(`${BASE}/recipes`, { method: 'POST', headers, body: JSON.stringify({ recipe: { ...DRAFT_RECIPE, seed: 'seven' } }) })).status).toBe(400);
    expect((await SELF.fetch(`${BASE}/recipes`, { method: 'POST', headers, body: JSON.stringify({ recipe: DRAFT_RECIPE, pad: 'x'.repeat(70_000) }) })).status).toBe(413);
    expect([await count('recipes'), await count('recipe_publications')]).toEqual(before);
  });
});
