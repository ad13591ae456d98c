import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deserializeError, type Recipe } from '../../contracts/index.ts';
import { RenderNode, type RenderNodeEvent } from '../../render/src/index.ts';
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
    const res = await api('/accounts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handle: `render_${process.pid % 10_000}_${Date.now() % 100_000}_${n++}`, password: 'correct horse battery', birthDate: '1990-01-01' }) });
    expect(res.status).toBe(201);
    const me = (await res.json()) as { csrfToken: string };
    return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: me.csrfToken };
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
