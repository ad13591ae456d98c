import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSENT_HEADER, deserializeError, type Recipe } from '../../contracts/index.ts';
import { clipSha256, decodeAppearance, OnnxModel, RenderNode, type RenderNodeEvent } from '../../render/src/index.ts';
import { createRenderNodeToken, revokeRenderNode } from '../../scripts/render-node-token.ts';
import { startApp, type RunningApp } from '../../scripts/running-app.ts';
import { ensureDebianPackages, FFMPEG } from '../../scripts/system-packages.ts';

// Ports apart from a developer's own `npm start` (5173/8787) and the app-shell test (5391/8891).
const WEB_PORT = 5392;
const EDGE_PORT = 8892;
const TINY_MODEL = 'test/fixtures/tiny-model';

const manifestBytes = readFileSync(join(TINY_MODEL, 'manifest.json'));
const manifest = JSON.parse(manifestBytes.toString('utf8')) as { id: string; version: string; output: { fps: number; maxDurationS: number } };
/** A recipe the tiny model can render: its model, its frame rate, its whole length. */
const TINY_RECIPE: Recipe = {
  v: 1,
  model: { id: manifest.id, version: manifest.version, manifestSha256: createHash('sha256').update(manifestBytes).digest('hex') },
  prompt: 'a red ball bounces twice in a gym',
  seed: 11,
  durationS: manifest.output.maxDurationS,
  fps: manifest.output.fps,
  width: 64,
  height: 64,
  steps: 4,
  guidance: 2,
  cameos: [],
  parent: null,
};

interface Person {
  readonly cookie: string;
  readonly csrf: string;
  readonly handle: string;
}

/** A reference face: a warm oval with dark eyes on a pale ground, as a PNG the edge stores and the node decodes. */
function facePng(): Uint8Array<ArrayBuffer> {
  const canvas = createCanvas(40, 30);
  const g = canvas.getContext('2d');
  g.fillStyle = '#e8e0d0';
  g.fillRect(0, 0, 40, 30);
  g.fillStyle = '#c68642';
  g.beginPath();
  g.ellipse(20, 15, 11, 14, 0, 0, Math.PI * 2);
  g.fill();
  g.fillStyle = '#2b1d0e';
  g.fillRect(14, 11, 3, 3);
  g.fillRect(23, 11, 3, 3);
  return new Uint8Array(canvas.toBuffer('image/png'));
}

describe('the Pro render node against the running app', () => {
  let app: RunningApp;
  let token: string;
  const nodeName = `e2e-render-${process.pid}-${Date.now() % 100_000}`;
  const work = mkdtempSync(join(tmpdir(), 'zoetrope-render-e2e-'));
  let n = 0;

  const api = (path: string, init: RequestInit = {}) => fetch(`${app.edgeOrigin}/api${path}`, init);
  const as = (who: Person, method: string, path: string, body?: unknown) =>
    api(path, { method, headers: { 'content-type': 'application/json', cookie: who.cookie, 'x-csrf-token': who.csrf }, body: body === undefined ? undefined : JSON.stringify(body) });

  async function signUp(): Promise<Person> {
    const handle = `render_${process.pid % 10_000}_${Date.now() % 100_000}_${n++}`;
    const res = await api('/accounts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handle, password: 'correct horse battery', birthDate: '1990-01-01' }) });
    expect(res.status).toBe(201);
    const me = (await res.json()) as { csrfToken: string };
    return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: me.csrfToken, handle };
  }

  /** A cameo of `owner` with `face` as its appearance, granted to `grantee`, and the grantee's consent token for it. */
  async function grantedCameo(owner: Person, grantee: Person, face: Uint8Array<ArrayBuffer>): Promise<{ cameoId: string; consentToken: string }> {
    const made = await as(owner, 'POST', '/cameos', { name: 'My face', audience: 'approved' });
    expect(made.status).toBe(201);
    const { id: cameoId } = (await made.json()) as { id: string };
    const uploaded = await api(`/cameos/${cameoId}/reference/appearance`, { method: 'PUT', headers: { 'content-type': 'image/png', cookie: owner.cookie, 'x-csrf-token': owner.csrf }, body: face });
    expect(uploaded.status).toBe(201);
    expect((await as(owner, 'POST', `/cameos/${cameoId}/grants`, { handle: grantee.handle })).status).toBe(201);
    const consent = await as(grantee, 'POST', `/cameos/${cameoId}/consent`, { scope: 'generate' });
    expect(consent.status).toBe(201);
    return { cameoId, consentToken: ((await consent.json()) as { token: string }).token };
  }

  /** Leases the job `runs` times (the queue's three attempts) and returns each outcome's reason. */
  async function failures(jobId: string, runs = 3): Promise<string[]> {
    const node = new RenderNode({ edge: app.edgeOrigin, token, modelDir: TINY_MODEL, log: () => undefined });
    const reasons: string[] = [];
    try {
      for (let i = 0; i < runs; i++) {
        const outcome = await node.runOnce();
        expect(outcome).toMatchObject({ status: 'failed', jobId, willRetry: i < runs - 1 });
        reasons.push(outcome?.status === 'failed' ? outcome.reason : '');
      }
    } finally {
      await node.close();
    }
    return reasons;
  }

  async function submit(who: Person, recipe: Recipe): Promise<string> {
    const published = await as(who, 'POST', '/recipes', { recipe });
    expect(published.status, await published.clone().text()).toBe(201);
    const { id: recipeId } = (await published.json()) as { id: string };
    const job = await as(who, 'POST', '/pro-jobs', { recipeId });
    expect(job.status).toBe(201);
    return ((await job.json()) as { id: string }).id;
  }

  /** Jobs left in the local queue by earlier runs (it lives in .wrangler/state) are failed for good, so the node leases ours. */
  async function drainQueue(): Promise<void> {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    for (let i = 0; i < 300; i++) {
      const lease = await api('/render/lease', { method: 'POST', headers });
      if (lease.status === 204) return;
      const { id } = (await lease.json()) as { id: string };
      await api(`/render/jobs/${id}/fail`, { method: 'POST', headers, body: JSON.stringify({ reason: 'drained by the render-node e2e test' }) });
    }
    throw new Error('the local Pro queue did not drain');
  }

  beforeAll(async () => {
    ensureDebianPackages([FFMPEG]);
    app = await startApp(WEB_PORT, EDGE_PORT);
    // Made as an operator would, with wrangler against the running app's local D1.
    token = (await createRenderNodeToken(nodeName)).token;
    await drainQueue();
  });

  afterAll(async () => {
    if (app) await revokeRenderNode(nodeName).catch(() => 0);
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("renders a job with the tiny model, and its owner downloads an MP4 that ffprobe reads as the recipe's clip", async () => {
    const me = await signUp();
    const jobId = await submit(me, TINY_RECIPE);
    const events: RenderNodeEvent[] = [];
    const node = new RenderNode({ edge: app.edgeOrigin, token, modelDir: TINY_MODEL, log: (e) => events.push(e) });
    try {
      const outcome = await node.runOnce();
      expect(outcome).toMatchObject({ status: 'done', jobId, resultKey: `renders/${jobId}.mp4` });
      expect(events.map((e) => e.event)).toEqual(['model-loaded', 'leased', 'rendered', 'done']);
      expect(events[1]).toMatchObject({ jobId, attempt: 1, leaseS: 120 });
      expect(await node.runOnce()).toBeNull();
    } finally {
      await node.close();
    }

    expect(await (await as(me, 'GET', `/pro-jobs/${jobId}`)).json()).toMatchObject({ status: 'done', attempts: 1, resultKey: `renders/${jobId}.mp4`, error: null });
    const video = await as(me, 'GET', `/pro-jobs/${jobId}/video`);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    const bytes = new Uint8Array(await video.arrayBuffer());
    expect(video.headers.get('content-length')).toBe(String(bytes.byteLength));
    const file = join(work, `${jobId}.mp4`);
    writeFileSync(file, bytes);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:format_tags=comment:stream=codec_type,codec_name,width,height', '-of', 'json', file], { encoding: 'utf8' });
    expect(probe.status, probe.stderr).toBe(0);
    const info = JSON.parse(probe.stdout) as { streams: { codec_type: string; codec_name: string; width?: number; height?: number }[]; format: { duration: string; tags?: { comment?: string } } };
    expect(info.streams.filter((s) => s.codec_type === 'video')).toEqual([expect.objectContaining({ codec_name: 'h264', width: 64, height: 64 })]);
    expect(info.streams.filter((s) => s.codec_type === 'audio')).toEqual([expect.objectContaining({ codec_name: 'aac' })]);
    expect(Math.abs(Number(info.format.duration) - TINY_RECIPE.durationS)).toBeLessThan(0.15);
    expect(JSON.parse(info.format.tags?.comment ?? '{}')).toMatchObject({ prompt: TINY_RECIPE.prompt, seed: TINY_RECIPE.seed });

    // Someone else cannot fetch it.
    expect((await as(await signUp(), 'GET', `/pro-jobs/${jobId}/video`)).status).toBe(404);
  });

  it('fails a recipe made for another model with a reason naming both, and the queue retries it until its last attempt', async () => {
    const me = await signUp();
    const draft: Recipe = { ...TINY_RECIPE, model: { id: 'zoetrope-draft', version: '0.1.0', manifestSha256: 'a'.repeat(64) }, seed: 12 };
    const jobId = await submit(me, draft);
    const node = new RenderNode({ edge: app.edgeOrigin, token, modelDir: TINY_MODEL, log: () => undefined });
    const reason = /recipe\.model is zoetrope-draft 0\.1\.0 \(manifest a{12}…\), but this render node runs zoetrope-tiny 0\.0\.1/;
    try {
      const first = await node.runOnce();
      expect(first).toMatchObject({ status: 'failed', jobId, willRetry: true });
      expect(first?.status === 'failed' && first.reason).toMatch(reason);
      const status = (await (await as(me, 'GET', `/pro-jobs/${jobId}`)).json()) as { status: string; attempts: number; error: string };
      expect(status).toMatchObject({ status: 'queued', attempts: 1 });
      expect(status.error).toMatch(reason);
      // The same node leases it again (nothing else waits) until the queue gives up.
      expect(await node.runOnce()).toMatchObject({ status: 'failed', jobId, willRetry: true });
      expect(await node.runOnce()).toMatchObject({ status: 'failed', jobId, willRetry: false });
    } finally {
      await node.close();
    }
    expect(await (await as(me, 'GET', `/pro-jobs/${jobId}`)).json()).toMatchObject({ status: 'failed', attempts: 3 });
    const video = await as(me, 'GET', `/pro-jobs/${jobId}/video`);
    expect(video.status).toBe(409);
    expect(deserializeError(await video.json()).message).toMatch(/failed \(recipe\.model is zoetrope-draft/);
  });

  it('fails the job in hand when told to stop mid-render, so another node renders it (heartbeating as it goes)', async () => {
    const me = await signUp();
    const jobId = await submit(me, { ...TINY_RECIPE, seed: 13 });
    const stop = new AbortController();
    const leaving = new RenderNode({ edge: app.edgeOrigin, token, modelDir: TINY_MODEL, log: (e) => e.event === 'leased' && stop.abort() });
    try {
      expect(await leaving.runOnce(stop.signal)).toEqual({ status: 'failed', jobId, reason: 'the render node was stopped before the render finished', willRetry: true });
      expect(await leaving.runOnce(stop.signal)).toBeNull();
    } finally {
      await leaving.close();
    }
    expect(await (await as(me, 'GET', `/pro-jobs/${jobId}`)).json()).toMatchObject({ status: 'queued', attempts: 1 });

    const events: RenderNodeEvent[] = [];
    const next = new RenderNode({ edge: app.edgeOrigin, token, modelDir: TINY_MODEL, heartbeatS: 0.02, log: (e) => events.push(e) });
    try {
      expect(await next.runOnce()).toMatchObject({ status: 'done', jobId });
    } finally {
      await next.close();
    }
    expect(events.find((e) => e.event === 'leased')).toMatchObject({ attempt: 2 });
    const beat = events.find((e) => e.event === 'heartbeat');
    expect(beat, JSON.stringify(events)).toMatchObject({ jobId });
    expect(beat?.event === 'heartbeat' && beat.leaseExpiresAt).toBeGreaterThan(Date.now() / 1000 + 60);
    expect(await (await as(me, 'GET', `/pro-jobs/${jobId}`)).json()).toMatchObject({ status: 'done', attempts: 2 });
  });

  it("draws a cameo with the face the edge hands over for the recipe's consent token, which stays out of the MP4", async () => {
    const [owner, friend] = [await signUp(), await signUp()];
    const face = facePng();
    const cameo = await grantedCameo(owner, friend, face);
    const withCameo: Recipe = { ...TINY_RECIPE, prompt: 'a person kicks a ball', seed: 21, cameos: [cameo] };
    const cameoJob = await submit(friend, withCameo);
    const plainJob = await submit(friend, { ...withCameo, cameos: [] });
    // The published recipe shows the token to anyone, so the token alone fetches nothing: the node shows its own token too.
    expect((await api(`/cameos/${cameo.cameoId}/appearance`, { headers: { [CONSENT_HEADER]: cameo.consentToken } })).status).toBe(401);
    const events: RenderNodeEvent[] = [];
    const node = new RenderNode({ edge: app.edgeOrigin, token, modelDir: TINY_MODEL, log: (e) => events.push(e) });
    try {
      // Submitted within the same second, the two jobs are leased in either order (the queue orders by second, then id).
      const outcomes = [await node.runOnce(), await node.runOnce()];
      expect(outcomes).toEqual(expect.arrayContaining([expect.objectContaining({ status: 'done', jobId: cameoJob }), expect.objectContaining({ status: 'done', jobId: plainJob })]));
    } finally {
      await node.close();
    }
    const rendered = new Map(events.flatMap((e) => (e.event === 'rendered' ? [[e.jobId, e.clipSha256] as const] : [])));
    expect(rendered.get(cameoJob)).toMatch(/^[0-9a-f]{64}$/);
    expect(rendered.get(cameoJob)).not.toBe(rendered.get(plainJob));
    // The very face it was given: the same recipe rendered here with the uploaded image is the same clip.
    const model = await OnnxModel.load(TINY_MODEL);
    try {
      const here = await model.generate({ prompt: withCameo.prompt, seed: withCameo.seed, steps: withCameo.steps, guidance: withCameo.guidance, cameo: { appearance: await decodeAppearance(face, 'the test face') } });
      expect(clipSha256(here)).toBe(rendered.get(cameoJob));
    } finally {
      await model.release();
    }

    const video = await as(friend, 'GET', `/pro-jobs/${cameoJob}/video`);
    expect(video.status).toBe(200);
    const bytes = Buffer.from(await video.arrayBuffer());
    expect(bytes.includes(cameo.consentToken.split('.')[2]!)).toBe(false);
    const file = join(work, `${cameoJob}.mp4`);
    writeFileSync(file, bytes);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format_tags=comment', '-of', 'json', file], { encoding: 'utf8' });
    expect(probe.status, probe.stderr).toBe(0);
    const comment = JSON.parse((JSON.parse(probe.stdout) as { format: { tags?: { comment?: string } } }).format.tags?.comment ?? '{}') as { cameos?: unknown };
    expect(comment.cameos).toEqual([{ cameoId: cameo.cameoId }]);
  });

  it('fails a cameo job whose consent was revoked after it was submitted, naming the cameo, on every attempt', async () => {
    const [owner, friend] = [await signUp(), await signUp()];
    const cameo = await grantedCameo(owner, friend, facePng());
    const jobId = await submit(friend, { ...TINY_RECIPE, prompt: 'a person kicks a ball', seed: 22, cameos: [cameo] });
    expect(await (await as(owner, 'DELETE', `/cameos/${cameo.cameoId}/grants/${friend.handle}`)).json()).toEqual({ revokedTokens: 1 });
    const reasons = await failures(jobId);
    for (const reason of reasons) expect(reason).toBe(`recipe.cameos[0] (cameo ${cameo.cameoId}): consent token refused: it was revoked (by the owner of cameo ${cameo.cameoId}, or with the cameo)`);
    expect(await (await as(friend, 'GET', `/pro-jobs/${jobId}`)).json()).toMatchObject({ status: 'failed', attempts: 3, error: reasons[2] });
  });

  it('refuses a recipe with two cameos: this model draws one person', async () => {
    const [a, b, friend] = [await signUp(), await signUp(), await signUp()];
    const cameos = [await grantedCameo(a, friend, facePng()), await grantedCameo(b, friend, facePng())];
    const jobId = await submit(friend, { ...TINY_RECIPE, prompt: 'a person kicks a ball', seed: 23, cameos });
    for (const reason of await failures(jobId)) expect(reason).toBe('recipe.cameos names 2 cameos, but this model draws one person');
  });

  it('runs as `npm run render-node`: waits for jobs, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'render/src/cli.ts', '--edge', app.edgeOrigin, '--model', TINY_MODEL, '--poll-s', '0.2'], {
      env: { ...process.env, ZOETROPE_RENDER_NODE_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 60_000;
    while (!out.includes('"event":"waiting"') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('"event":"waiting"');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const events = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; time: string });
    expect(events.map((e) => e.event)).toEqual(['model-loaded', 'waiting', 'stopped']);
    expect(Date.parse(events[0]?.time ?? '')).not.toBeNaN();
  });
});
