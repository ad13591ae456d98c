import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { deserializeError, type Recipe } from '../../contracts/index.ts';
import type { Me } from '../../edge/src/accounts.ts';
import { sha256Hex } from '../../edge/src/auth.ts';
import { PRO_DAILY_QUOTA } from '../../edge/src/pro-jobs.ts';
import { LEASE_S, MAX_ATTEMPTS, type ProQueue } from '../../edge/src/pro-queue.ts';
import type { RecipeView } from '../../edge/src/recipes.ts';
import { DRAFT_RECIPE } from '../fixtures/recipes.ts';

const BASE = 'http://edge.test/api';
let n = 0;
interface Who {
  cookie: string;
  csrf: string;
}
async function person(): Promise<Who> {
  const res = await SELF.fetch(`${BASE}/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handle: `pro_${Date.now() % 100000}_${n++}`, password: 'correct horse battery', birthDate: '1990-01-01' }) });
  const me = await res.json<Me>();
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: me.csrfToken };
}
const call = (who: Who, method: string, path: string, body?: unknown) =>
  SELF.fetch(`${BASE}${path}`, { method, headers: { 'content-type': 'application/json', cookie: who.cookie, 'x-csrf-token': who.csrf }, body: body === undefined ? undefined : JSON.stringify(body) });

async function renderNode(name: string): Promise<string> {
  const token = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
  await env.DB.prepare('INSERT INTO render_nodes (id, name, token_hash, created_at) VALUES (?, ?, ?, 0)').bind(`node_${name}_${n++}`, name, await sha256Hex(token)).run();
  return token;
}
const node = (token: string, path: string, body?: unknown) =>
  SELF.fetch(`${BASE}/render${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });

async function publishedRecipe(who: Who, seed: number): Promise<string> {
  const recipe: Recipe = { ...DRAFT_RECIPE, seed };
  return (await (await call(who, 'POST', '/recipes', { recipe })).json<RecipeView>()).id;
}

/** Drains the queue, so each test starts with only its own jobs waiting. */
async function drain(token: string): Promise<void> {
  for (;;) {
    const res = await node(token, '/lease');
    if (res.status === 204) return;
    const { id } = await res.json<{ id: string }>();
    await node(token, `/jobs/${id}/complete`, { resultKey: `renders/${id}.mp4` });
  }
}

describe('Pro render jobs', () => {
  it('goes queued → leased → done, with the recipe handed to the node and the status to the owner', async () => {
    const [me, gpu] = [await person(), await renderNode('gpu-a')];
    await drain(gpu);
    const recipeId = await publishedRecipe(me, 7001);
    const submitted = await call(me, 'POST', '/pro-jobs', { recipeId });
    expect(submitted.status).toBe(201);
    const job = await submitted.json<{ id: string; status: string }>();
    expect(job.status).toBe('queued');
    const lease = await (await node(gpu, '/lease')).json<{ id: string; recipe: Recipe; attempt: number }>();
    expect(lease).toMatchObject({ id: job.id, attempt: 1 });
    expect(lease.recipe.seed).toBe(7001);
    expect((await (await call(me, 'GET', `/pro-jobs/${job.id}`)).json<{ status: string }>()).status).toBe('leased');
    expect((await node(gpu, `/jobs/${job.id}/heartbeat`)).status).toBe(200);
    expect(await (await node(gpu, `/jobs/${job.id}/complete`, { resultKey: `renders/${job.id}.mp4` })).json()).toEqual({ id: job.id, status: 'done' });
    expect(await (await call(me, 'GET', `/pro-jobs/${job.id}`)).json()).toMatchObject({ status: 'done', resultKey: `renders/${job.id}.mp4` });
    expect((await node(gpu, '/lease')).status).toBe(204);
  });

  it('gives an expired lease to another node, and refuses the first node once it lost it', async () => {
    const [me, a, b] = [await person(), await renderNode('gpu-a'), await renderNode('gpu-b')];
    await drain(a);
    const { id } = await (await call(me, 'POST', '/pro-jobs', { recipeId: await publishedRecipe(me, 7002) })).json<{ id: string }>();
    expect((await (await node(a, '/lease')).json<{ id: string }>()).id).toBe(id);
    expect((await node(b, '/lease')).status).toBe(204);
    // Time passes beyond the lease inside the queue (the Durable Object's clock is the caller's `now`).
    const stub = env.PRO_QUEUE.get(env.PRO_QUEUE.idFromName('pro-queue'));
    await runInDurableObject(stub, (_q: ProQueue, state: DurableObjectState) => void state.storage.sql.exec('UPDATE jobs SET lease_expires_at = ? WHERE id = ?', Math.floor(Date.now() / 1000) - 1, id));
    expect(await (await node(b, '/lease')).json()).toMatchObject({ id, attempt: 2 });
    const late = await node(a, `/jobs/${id}/complete`, { resultKey: `renders/${id}.mp4` });
    expect(late.status).toBe(409);
    expect(deserializeError(await late.json()).message).toMatch(/not leased to this node/);
    expect((await node(b, `/jobs/${id}/complete`, { resultKey: `renders/${id}.mp4` })).status).toBe(200);
    expect(LEASE_S).toBeGreaterThan(0);
  });

  it('retries a failed render, then fails it for good after the last attempt', async () => {
    const [me, gpu] = [await person(), await renderNode('gpu-a')];
    await drain(gpu);
    const { id } = await (await call(me, 'POST', '/pro-jobs', { recipeId: await publishedRecipe(me, 7003) })).json<{ id: string }>();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      expect(await (await node(gpu, '/lease')).json()).toMatchObject({ id, attempt });
      const failed = await (await node(gpu, `/jobs/${id}/fail`, { reason: 'out of GPU memory' })).json<{ status: string }>();
      expect(failed.status).toBe(attempt < MAX_ATTEMPTS ? 'queued' : 'failed');
    }
    expect(await (await call(me, 'GET', `/pro-jobs/${id}`)).json()).toMatchObject({ status: 'failed', error: 'out of GPU memory', attempts: MAX_ATTEMPTS });
  });

  it('holds each person to the daily quota, and to their own jobs', async () => {
    const [me, other] = [await person(), await person()];
    const recipeId = await publishedRecipe(me, 7004);
    let last = '';
    for (let i = 0; i < PRO_DAILY_QUOTA; i++) last = (await (await call(me, 'POST', '/pro-jobs', { recipeId })).json<{ id: string }>()).id;
    const over = await call(me, 'POST', '/pro-jobs', { recipeId });
    expect(over.status).toBe(429);
    expect(deserializeError(await over.json()).message).toMatch(/used your 5 Pro renders/);
    expect((await call(other, 'GET', `/pro-jobs/${last}`)).status).toBe(404);
    expect((await call(other, 'POST', '/pro-jobs', { recipeId: 'a'.repeat(52) })).status).toBe(404);
  });

  it('lets only render nodes with a known token lease or report', async () => {
    expect((await SELF.fetch(`${BASE}/render/lease`, { method: 'POST' })).status).toBe(401);
    expect((await node('0'.repeat(64), '/lease')).status).toBe(401);
    const me = await person();
    expect((await SELF.fetch(`${BASE}/render/lease`, { method: 'POST', headers: { cookie: me.cookie, 'x-csrf-token': me.csrf } })).status).toBe(401);
  });
});
