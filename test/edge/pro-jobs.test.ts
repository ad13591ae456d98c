import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { deserializeError, type Recipe } from '../../contracts/index.ts';
import { sha256Hex } from '../../edge/src/auth.ts';
import { PRO_DAILY_QUOTA, RENDER_MAX_BYTES } from '../../edge/src/pro-jobs.ts';
import { LEASE_S, MAX_ATTEMPTS, type ProQueue } from '../../edge/src/pro-queue.ts';
import type { RecipeView } from '../../edge/src/recipes.ts';
import { DRAFT_RECIPE } from '../fixtures/recipes.ts';
import { BASE, call, person, type Who } from './people.ts';

let n = 0;

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

/** The smallest thing that passes for an MP4: an ftyp box (isom), then an empty mdat box and a tail. */
function tinyMp4(): Uint8Array {
  const ascii = (t: string) => Array.from(t, (ch) => ch.charCodeAt(0));
  return Uint8Array.from([0, 0, 0, 24, ...ascii('ftypisom'), 0, 0, 2, 0, ...ascii('isommp41'), 0, 0, 0, 8, ...ascii('mdat'), ...Array.from({ length: 40 }, (_, i) => i)]);
}
const upload = (token: string, id: string, body: BodyInit, type = 'video/mp4') =>
  SELF.fetch(`${BASE}/render/jobs/${id}/result`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });

/** A submitted job, leased by `token`'s node. */
async function leasedJob(who: Who, token: string, seed: number): Promise<{ id: string; recipeId: string }> {
  await drain(token);
  const recipeId = await publishedRecipe(who, seed);
  const { id } = await (await call(who, 'POST', '/pro-jobs', { recipeId })).json<{ id: string }>();
  expect((await (await node(token, '/lease')).json<{ id: string }>()).id).toBe(id);
  return { id, recipeId };
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
    const [me, gpu] = [await person('pro'), await renderNode('gpu-a')];
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

  it('leases jobs submitted in the same second in the order they came, whatever their ids', async () => {
    const [me, gpu] = [await person('pro'), await renderNode('gpu-fifo')];
    await drain(gpu);
    const recipeId = await publishedRecipe(me, 7050);
    // Three jobs in one second, ids in another order than they came.
    const stub = env.PRO_QUEUE.get(env.PRO_QUEUE.idFromName('pro-queue'));
    const now = Math.floor(Date.now() / 1000);
    const ids = ['job_fifo_c', 'job_fifo_a', 'job_fifo_b'];
    await runInDurableObject(stub, (q: ProQueue) => {
      for (const id of ids) q.submit(id, me.me.id, recipeId, now);
    });
    for (const id of ids) {
      const lease = await (await node(gpu, '/lease')).json<{ id: string }>();
      expect(lease.id).toBe(id);
      await node(gpu, `/jobs/${id}/complete`, { resultKey: `renders/${id}.mp4` });
    }
  });

  it('gives an expired lease to another node, and refuses the first node once it lost it', async () => {
    const [me, a, b] = [await person('pro'), await renderNode('gpu-a'), await renderNode('gpu-b')];
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
    const [me, gpu] = [await person('pro'), await renderNode('gpu-a')];
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
    const [me, other] = [await person('pro'), await person('pro')];
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
    const me = await person('pro');
    expect((await SELF.fetch(`${BASE}/render/lease`, { method: 'POST', headers: { cookie: me.cookie, 'x-csrf-token': me.csrf } })).status).toBe(401);
  });

  it('stores the uploaded MP4 in R2, completes the job, and streams it to its owner (with ranges)', async () => {
    const [me, gpu] = [await person('pro'), await renderNode('gpu-a')];
    const { id, recipeId } = await leasedJob(me, gpu, 7101);
    const notYet = await call(me, 'GET', `/pro-jobs/${id}/video`);
    expect(notYet.status).toBe(409);
    expect(deserializeError(await notYet.json()).message).toMatch(/is leased: its video can be downloaded once it is done/);

    const mp4 = tinyMp4();
    const res = await upload(gpu, id, mp4);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id, status: 'done', resultKey: `renders/${id}.mp4`, bytes: mp4.byteLength });
    const stored = await env.MEDIA.get(`renders/${id}.mp4`);
    expect(stored?.httpMetadata?.contentType).toBe('video/mp4');
    expect(stored?.customMetadata).toMatchObject({ jobId: id, recipeId });
    expect(stored?.customMetadata?.['nodeId']).toMatch(/^node_gpu-a_/);
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(mp4);
    expect(await (await call(me, 'GET', `/pro-jobs/${id}`)).json()).toMatchObject({ status: 'done', resultKey: `renders/${id}.mp4` });

    const video = await call(me, 'GET', `/pro-jobs/${id}/video`);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    expect(video.headers.get('content-length')).toBe(String(mp4.byteLength));
    expect(video.headers.get('accept-ranges')).toBe('bytes');
    expect(new Uint8Array(await video.arrayBuffer())).toEqual(mp4);

    const part = await SELF.fetch(`${BASE}/pro-jobs/${id}/video`, { headers: { cookie: me.cookie, range: 'bytes=4-11' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 4-11/${mp4.byteLength}`);
    expect(part.headers.get('content-length')).toBe('8');
    expect(new TextDecoder().decode(await part.arrayBuffer())).toBe('ftypisom');
    const tail = await SELF.fetch(`${BASE}/pro-jobs/${id}/video`, { headers: { cookie: me.cookie, range: 'bytes=-4' } });
    expect(tail.status).toBe(206);
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(mp4.subarray(-4));
    const outside = await SELF.fetch(`${BASE}/pro-jobs/${id}/video`, { headers: { cookie: me.cookie, range: `bytes=${mp4.byteLength}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${mp4.byteLength}`);
    await outside.arrayBuffer();
  });

  it("refuses an upload from a node without the job's lease (409), and stores nothing", async () => {
    const [me, a, b] = [await person('pro'), await renderNode('gpu-a'), await renderNode('gpu-b')];
    const { id } = await leasedJob(me, a, 7102);
    const stolen = await upload(b, id, tinyMp4());
    expect(stolen.status).toBe(409);
    expect(deserializeError(await stolen.json()).message).toMatch(/not leased to this node/);
    expect(await env.MEDIA.head(`renders/${id}.mp4`)).toBeNull();
    // Once a job is done, its node holds no lease any more either.
    expect((await upload(a, id, tinyMp4())).status).toBe(200);
    const again = await upload(a, id, tinyMp4());
    expect(again.status).toBe(409);
    await again.arrayBuffer();
    expect((await upload(a, 'job_unknown', tinyMp4())).status).toBe(409);
    expect((await upload('0'.repeat(64), id, tinyMp4())).status).toBe(401);
  });

  it('refuses a body that is not an MP4 (400) or is larger than 64 MB (413), and stores nothing', async () => {
    const [me, gpu] = [await person('pro'), await renderNode('gpu-a')];
    const { id } = await leasedJob(me, gpu, 7103);
    const cases: [Response, number, RegExp][] = [
      [await upload(gpu, id, new TextEncoder().encode('<!doctype html><p>not a video</p>')), 400, /result is not an MP4 file: an ISO-BMFF file starts with an ftyp box .* its first bytes are 3c 21 64 6f/],
      [await upload(gpu, id, new Uint8Array(0)), 400, /result is empty/],
      [await upload(gpu, id, tinyMp4(), 'video/webm'), 400, /result must be sent as video\/mp4 \(got video\/webm\)/],
      [await upload(gpu, id, new Uint8Array(RENDER_MAX_BYTES + 1)), 413, /larger than 67108864 bytes/],
    ];
    // A chunked body declares no length: it is refused while reading, once past the limit.
    const head = tinyMp4();
    let sent = 0;
    const chunked = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > RENDER_MAX_BYTES) return controller.close();
        const chunk = sent === 0 ? head : new Uint8Array(1 << 20);
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    cases.push([await upload(gpu, id, chunked), 413, /larger than 67108864 bytes/]);
    for (const [res, status, message] of cases) {
      expect(res.status).toBe(status);
      expect(deserializeError(await res.json()).message).toMatch(message);
    }
    expect(await env.MEDIA.head(`renders/${id}.mp4`)).toBeNull();
    expect(await (await call(me, 'GET', `/pro-jobs/${id}`)).json()).toMatchObject({ status: 'leased' });
  });

  it("lets only the job's owner download its video", async () => {
    const [me, other, gpu] = [await person('pro'), await person('pro'), await renderNode('gpu-a')];
    const { id } = await leasedJob(me, gpu, 7104);
    // Sent chunked this time (no Content-Length): stored all the same.
    const chunks = [tinyMp4().subarray(0, 10), tinyMp4().subarray(10)];
    const body = new ReadableStream<Uint8Array>({ pull: (controller) => (chunks.length > 0 ? controller.enqueue(chunks.shift()!) : controller.close()) });
    expect((await upload(gpu, id, body)).status).toBe(200);
    const theirs = await call(other, 'GET', `/pro-jobs/${id}/video`);
    expect(theirs.status).toBe(404);
    expect(deserializeError(await theirs.json()).message).toMatch(/Pro job/);
    expect((await SELF.fetch(`${BASE}/pro-jobs/${id}/video`)).status).toBe(401);
    expect(new Uint8Array(await (await call(me, 'GET', `/pro-jobs/${id}/video`)).arrayBuffer())).toEqual(tinyMp4());
  });
});
