import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import type { InferenceSession } from 'onnxruntime-node';
import {
  CanceledError,
  canonicalJson,
  ConflictError,
  CONSENT_HEADER,
  ConsentError,
  deserializeError,
  InternalError,
  parseRecipe,
  PayloadTooLargeError,
  UnauthorizedError,
  UnsupportedError,
  ValidationError,
  withoutConsentTokens,
  ZoetropeError,
  type CameoUse,
  type Recipe,
} from '../../contracts/index.ts';
import { cameoInput, noCameoInput, type CameoAppearance } from '../../workers/src/engine/cameo.ts';
import { OnnxModel, type GeneratedClip } from '../onnx-model.ts';
import { decodeAppearance, MAX_APPEARANCE_BYTES } from './appearance.ts';
import { assertFfmpeg, encodeMp4 } from './mp4.ts';

/**
 * The Pro render node: leases jobs from the edge API's queue with its bearer token, renders each
 * recipe with the model folder it was started with (onnxruntime-node, every file hashed before
 * use, loaded once and kept between jobs), heartbeats while it renders, encodes the MP4 with
 * ffmpeg and uploads it (the upload completes the job). A recipe's cameo is drawn with the
 * appearance the edge hands over to this node for the recipe's consent token while the node holds
 * the job's lease; the edge checks the token (revocation included) at that moment. Anything that
 * goes wrong is reported with `fail` and a reason; the queue retries a job up to its attempt limit.
 */

export interface RenderNodeOptions {
  /** The edge API's origin, e.g. `http://127.0.0.1:8787`. */
  readonly edge: string;
  /** The node's token (64 hex characters), sent as `Authorization: Bearer`. */
  readonly token: string;
  /** A model folder: manifest.json, the ONNX graphs and shards, the tokenizer. */
  readonly modelDir: string;
  /** Seconds between lease attempts while nothing is waiting (default 5). */
  readonly pollS?: number;
  /** Seconds between heartbeats while rendering (default: a third of the lease the edge grants). */
  readonly heartbeatS?: number;
  /** Where events go; by default one JSON line each on stdout. */
  readonly log?: (event: RenderNodeEvent) => void;
  readonly sessionOptions?: InferenceSession.SessionOptions;
}

/** What the node reports, one event at a time. */
export type RenderNodeEvent =
  | { readonly event: 'model-loaded'; readonly model: string; readonly version: string; readonly manifestSha256: string; readonly ms: number }
  | { readonly event: 'waiting'; readonly pollS: number }
  | { readonly event: 'leased'; readonly jobId: string; readonly recipeId: string | null; readonly attempt: number; readonly leaseS: number }
  | { readonly event: 'heartbeat'; readonly jobId: string; readonly leaseExpiresAt: number }
  | { readonly event: 'heartbeat-failed'; readonly jobId: string; readonly message: string }
  /** `clipSha256` identifies the clip before encoding ({@link clipSha256}): a recipe renders to the same one on every node. */
  | { readonly event: 'rendered'; readonly jobId: string; readonly frames: number; readonly clipSha256: string; readonly renderMs: number; readonly encodeMs: number; readonly bytes: number }
  | { readonly event: 'done'; readonly jobId: string; readonly resultKey: string; readonly bytes: number }
  | { readonly event: 'failed'; readonly jobId: string; readonly reason: string; readonly status: string; readonly attempts: number }
  | { readonly event: 'lease-lost'; readonly jobId: string; readonly message: string }
  | { readonly event: 'edge-unreachable'; readonly message: string; readonly retryInS: number }
  | { readonly event: 'stopped'; readonly done: number; readonly failed: number };

/** How one leased job ended. */
export type JobOutcome =
  | { readonly status: 'done'; readonly jobId: string; readonly resultKey: string; readonly bytes: number }
  /** Reported with `fail`: the queue puts it back (`willRetry`) or fails it for good. */
  | { readonly status: 'failed'; readonly jobId: string; readonly reason: string; readonly willRetry: boolean }
  /** The lease ran out or went to another node: nothing more to report. */
  | { readonly status: 'lost'; readonly jobId: string; readonly reason: string };

export type RenderNodeState = 'idle' | 'waiting' | 'rendering' | 'stopped';

/** What `POST /api/render/lease` answers. */
interface Lease {
  readonly id: string;
  readonly recipeId: string;
  readonly recipe: unknown;
  readonly leaseExpiresAt: number;
  readonly leaseS?: number;
  readonly attempt: number;
}

/** The edge keeps at most this many characters of a failure reason. */
const MAX_REASON_CHARS = 500;
const TOKEN = /^[0-9a-f]{64}$/;

const defaultLog = (event: RenderNodeEvent) => void process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);

/** Edge answers that mean "try again later" rather than "this node is misconfigured". */
function isTransient(error: unknown): boolean {
  if (error instanceof InternalError) return true; // 5xx
  return !(error instanceof ZoetropeError); // fetch failed: refused, reset, DNS
}

/** sha256 of a generated clip's frames (RGB bytes) and then its sound (float32 PCM, little-endian as generated). */
export function clipSha256(clip: GeneratedClip): string {
  return createHash('sha256').update(clip.frames).update(new Uint8Array(clip.audio.buffer, clip.audio.byteOffset, clip.audio.byteLength)).digest('hex');
}

/** An error answer of the edge (`{code, message, details}`) as the error class it names. */
async function answeredError(res: Response, what: string): Promise<ZoetropeError> {
  const text = await res.text();
  try {
    return deserializeError(JSON.parse(text));
  } catch {
    return deserializeError({ code: res.status >= 500 ? 'internal' : 'invalid_input', message: `${what} answered ${res.status} ${text.slice(0, 200)}` });
  }
}

/** The origin a consent token says issued it (unverified: the edge verifies it when asked for the appearance). */
function consentIssuer(use: CameoUse, what: string): string {
  let iss: unknown;
  try {
    iss = decodeJwt(use.consentToken).iss;
  } catch {
    iss = undefined;
  }
  if (typeof iss !== 'string') throw new ConsentError({ reason: 'malformed', cameoId: use.cameoId }, `${what}: consent token refused: it names no issuer`);
  return iss;
}

export function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > MAX_REASON_CHARS ? `${message.slice(0, MAX_REASON_CHARS - 1)}…` : message;
}

export class RenderNode {
  readonly edge: string;
  readonly modelDir: string;
  readonly pollS: number;
  private readonly token: string;
  private readonly log: (event: RenderNodeEvent) => void;
  private loading: Promise<{ model: OnnxModel; manifestSha256: string }> | null = null;
  private current: RenderNodeState = 'idle';
  private counts = { done: 0, failed: 0 };

  constructor(private readonly options: RenderNodeOptions) {
    const problems: { field: string; message: string }[] = [];
    let edge = '';
    try {
      const url = new URL(options.edge);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
      edge = url.origin;
    } catch {
      problems.push({ field: 'edge', message: `must be an http(s) URL such as http://127.0.0.1:8787 (got ${options.edge || 'nothing'})` });
    }
    if (!TOKEN.test(options.token)) problems.push({ field: 'token', message: 'must be the 64 hex characters printed by npm run render-node:token' });
    const pollS = options.pollS ?? 5;
    if (!(pollS >= 0.05 && pollS <= 3600)) problems.push({ field: 'pollS', message: `must be 0.05–3600 seconds (got ${options.pollS})` });
    if (options.heartbeatS !== undefined && !(options.heartbeatS >= 0.01 && options.heartbeatS <= 3600)) problems.push({ field: 'heartbeatS', message: `must be 0.01–3600 seconds (got ${options.heartbeatS})` });
    if (!options.modelDir) problems.push({ field: 'model', message: 'must name a model folder' });
    if (problems.length > 0) throw new ValidationError(problems);
    this.edge = edge;
    this.token = options.token;
    this.modelDir = resolve(options.modelDir);
    this.pollS = pollS;
    this.log = options.log ?? defaultLog;
  }

  get state(): RenderNodeState {
    return this.current;
  }

  /** Loads (once) and verifies the model folder; every job reuses it. */
  loadModel(): Promise<{ model: OnnxModel; manifestSha256: string }> {
    this.loading ??= (async () => {
      assertFfmpeg();
      const started = performance.now();
      const model = await OnnxModel.load(this.modelDir, this.options.sessionOptions);
      // The hash a recipe pins: of manifest.json's bytes, as the tab computes it (its files are hashed by load).
      const manifestSha256 = createHash('sha256').update(await readFile(join(this.modelDir, 'manifest.json'))).digest('hex');
      const m = model.manifest;
      this.log({ event: 'model-loaded', model: m.id, version: m.version, manifestSha256, ms: Math.round(performance.now() - started) });
      return { model, manifestSha256 };
    })();
    // A failed load is not cached: the next call tries again.
    this.loading.catch(() => (this.loading = null));
    return this.loading;
  }

  /**
   * Leases one job and renders it. Null when nothing is waiting (or `signal` has already aborted).
   * When `signal` aborts during the render, the job is failed (the queue hands it to another node)
   * unless it is already rendered, in which case it is uploaded first.
   */
  async runOnce(signal?: AbortSignal): Promise<JobOutcome | null> {
    await this.loadModel();
    if (signal?.aborted) return null;
    const res = await this.call('POST', '/api/render/lease');
    if (res.status === 204) return null;
    const lease = (await res.json()) as Lease;
    this.current = 'rendering';
    try {
      return await this.render(lease, signal);
    } finally {
      this.current = 'idle';
    }
  }

  /**
   * Renders jobs until `signal` aborts: waits `pollS` while nothing is waiting, and while the edge
   * cannot be reached. A wrong token or a model that does not load ends it with that error.
   */
  async run(signal: AbortSignal): Promise<void> {
    let saidWaiting = false;
    try {
      await this.loadModel();
      while (!signal.aborted) {
        let outcome: JobOutcome | null;
        try {
          outcome = await this.runOnce(signal);
        } catch (error) {
          if (!isTransient(error)) throw error;
          this.log({ event: 'edge-unreachable', message: describeFailure(error), retryInS: this.pollS });
          await this.pause(signal);
          continue;
        }
        if (outcome) {
          saidWaiting = false;
          continue;
        }
        if (!saidWaiting) this.log({ event: 'waiting', pollS: this.pollS });
        saidWaiting = true;
        await this.pause(signal);
      }
    } finally {
      await this.close();
    }
  }

  /** Releases the model's sessions. */
  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = null;
    if (this.current !== 'stopped') this.log({ event: 'stopped', ...this.counts });
    this.current = 'stopped';
    if (loading) await (await loading.catch(() => null))?.model.release();
  }

  private async pause(signal: AbortSignal): Promise<void> {
    this.current = 'waiting';
    await sleep(this.pollS * 1000, undefined, { signal }).catch(() => undefined);
    this.current = 'idle';
  }

  /** Why the loaded model cannot render `recipe`, or nothing. */
  private check(recipe: Recipe, model: OnnxModel, manifestSha256: string): void {
    const m = model.manifest;
    const want = recipe.model;
    if (want.id !== m.id || want.version !== m.version || want.manifestSha256 !== manifestSha256) {
      throw new ValidationError([
        { field: 'recipe.model', message: `is ${want.id} ${want.version} (manifest ${want.manifestSha256.slice(0, 12)}…), but this render node runs ${m.id} ${m.version} (manifest ${manifestSha256.slice(0, 12)}…)` },
      ]);
    }
    // The engine conditions on one appearance: the one figure in the scene wears it.
    if (recipe.cameos.length > 1) throw new UnsupportedError({ feature: 'several cameos in one recipe' }, `recipe.cameos names ${recipe.cameos.length} cameos, but this model draws one person`);
    const cameo = recipe.cameos[0];
    if (cameo) {
      if (!cameoInput(m)) throw new ValidationError([{ field: 'recipe.cameos', message: noCameoInput(m) }]);
      const what = `recipe.cameos[0] (cameo ${cameo.cameoId})`;
      const issuer = consentIssuer(cameo, what);
      if (issuer !== this.edge) {
        throw new UnsupportedError({ feature: `cameos whose consent another instance issued (${issuer})` }, `${what}: its consent was issued by ${issuer}, but this render node fetches cameo appearances from its own instance (${this.edge}) only; fetching them from other instances is not built yet`);
      }
    }
    if (recipe.shots) throw new UnsupportedError({ feature: 'multi-shot recipes on this render node' });
    const issues: { field: string; message: string }[] = [];
    if (recipe.fps !== m.output.fps) issues.push({ field: 'recipe.fps', message: `is ${recipe.fps}, but ${m.id} makes ${m.output.fps} fps` });
    if (recipe.durationS > m.output.maxDurationS + 1e-6) issues.push({ field: 'recipe.durationS', message: `is ${recipe.durationS} s, but ${m.id} makes at most ${m.output.maxDurationS} s` });
    if (issues.length > 0) throw new ValidationError(issues);
  }

  private async render(lease: Lease, signal: AbortSignal | undefined): Promise<JobOutcome> {
    const jobId = lease.id;
    const leaseS = lease.leaseS ?? Math.max(3, lease.leaseExpiresAt - Math.floor(Date.now() / 1000));
    this.log({ event: 'leased', jobId, recipeId: lease.recipeId, attempt: lease.attempt, leaseS });
    const stop = new AbortController();
    let lost: string | null = null;
    const onAbort = () => stop.abort(new CanceledError('the render node was stopped before the render finished'));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    // A third of the lease: two heartbeats can go missing before the lease runs out.
    const heartbeatS = this.options.heartbeatS ?? leaseS / 3;
    const heartbeat = setInterval(() => void this.heartbeat(jobId, (message) => ((lost = message), stop.abort(new CanceledError(message)))), heartbeatS * 1000);
    try {
      const { model, manifestSha256 } = await this.loadModel();
      const recipe = parseRecipe(lease.recipe);
      this.check(recipe, model, manifestSha256);
      const cameo = recipe.cameos[0] ? { appearance: await this.appearance(recipe.cameos[0], 'recipe.cameos[0]', stop.signal) } : undefined;
      const started = performance.now();
      const clip = await model.generate({ prompt: recipe.prompt, seed: recipe.seed, steps: recipe.steps, guidance: recipe.guidance, ...(cameo ? { cameo } : {}), signal: stop.signal });
      // Rendered: from here the job is finished even if the node is asked to stop (encoding and upload take seconds).
      const encodeStarted = performance.now();
      // The consent tokens stay out of the file: each is a credential for this render only.
      const mp4 = await encodeMp4(clip, canonicalJson(withoutConsentTokens(recipe)), { width: recipe.width, height: recipe.height, durationS: recipe.durationS });
      this.log({ event: 'rendered', jobId, frames: clip.frameCount, clipSha256: clipSha256(clip), renderMs: Math.round(encodeStarted - started), encodeMs: Math.round(performance.now() - encodeStarted), bytes: mp4.byteLength });
      if (lost !== null) return this.lost(jobId, lost);
      const uploaded = (await (await this.call('PUT', `/api/render/jobs/${jobId}/result`, mp4)).json()) as { resultKey: string; bytes: number };
      this.counts.done++;
      this.log({ event: 'done', jobId, resultKey: uploaded.resultKey, bytes: uploaded.bytes });
      return { status: 'done', jobId, resultKey: uploaded.resultKey, bytes: uploaded.bytes };
    } catch (error) {
      if (lost !== null) return this.lost(jobId, lost);
      if (error instanceof ConflictError) return this.lost(jobId, error.message);
      const reason = describeFailure(stop.signal.aborted && stop.signal.reason instanceof Error ? stop.signal.reason : error);
      try {
        const failed = (await (await this.call('POST', `/api/render/jobs/${jobId}/fail`, { reason })).json()) as { status: string; attempts: number };
        this.counts.failed++;
        this.log({ event: 'failed', jobId, reason, status: failed.status, attempts: failed.attempts });
        return { status: 'failed', jobId, reason, willRetry: failed.status === 'queued' };
      } catch (reportError) {
        if (reportError instanceof ConflictError) return this.lost(jobId, reportError.message);
        throw reportError;
      }
    } finally {
      clearInterval(heartbeat);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private lost(jobId: string, message: string): JobOutcome {
    this.log({ event: 'lease-lost', jobId, message });
    return { status: 'lost', jobId, reason: message };
  }

  private async heartbeat(jobId: string, onLost: (message: string) => void): Promise<void> {
    try {
      const { leaseExpiresAt } = (await (await this.call('POST', `/api/render/jobs/${jobId}/heartbeat`)).json()) as { leaseExpiresAt: number };
      this.log({ event: 'heartbeat', jobId, leaseExpiresAt });
    } catch (error) {
      if (error instanceof ConflictError) onLost(error.message);
      else this.log({ event: 'heartbeat-failed', jobId, message: describeFailure(error) });
    }
  }

  /**
   * A cameo's appearance, decoded: `GET /api/cameos/:id/appearance` on the edge with the node's
   * token (`Authorization: Bearer`) and the recipe's consent token (`Zoetrope-Consent`). The edge
   * verifies the consent token (its key, its cameo, its expiry and its revocation, now rather than
   * when the recipe was published) and that this node holds the lease of a job whose recipe carries
   * it. A refusal is thrown as the edge's error, its message led by the cameo it is about.
   */
  private async appearance(use: CameoUse, field: string, signal: AbortSignal): Promise<CameoAppearance> {
    const what = `${field} (cameo ${use.cameoId})`;
    const path = `/api/cameos/${encodeURIComponent(use.cameoId)}/appearance`;
    let res: Response;
    try {
      // The token alone fetches nothing (a published recipe shows it to anyone): the node shows its own
      // token too, and the edge hands the face over only while this node holds a job carrying it.
      const headers = { authorization: `Bearer ${this.token}`, [CONSENT_HEADER]: use.consentToken };
      res = await fetch(`${this.edge}${path}`, { headers, redirect: 'error', signal: AbortSignal.any([signal, AbortSignal.timeout(120_000)]) });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new InternalError(`${what}: its appearance could not be fetched from ${this.edge} (${(error as Error).message})`, { cause: error });
    }
    if (!res.ok) {
      const error = await answeredError(res, `GET ${path}`);
      throw deserializeError({ ...error.toJSON(), message: `${what}: ${error.message}` });
    }
    if (Number(res.headers.get('content-length') ?? '0') > MAX_APPEARANCE_BYTES) {
      await res.body?.cancel();
      throw new PayloadTooLargeError({ limitBytes: MAX_APPEARANCE_BYTES }, `${what}: its appearance is larger than ${MAX_APPEARANCE_BYTES} bytes`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of res.body ?? []) {
      total += chunk.byteLength;
      if (total > MAX_APPEARANCE_BYTES) throw new PayloadTooLargeError({ limitBytes: MAX_APPEARANCE_BYTES }, `${what}: its appearance is larger than ${MAX_APPEARANCE_BYTES} bytes`);
      chunks.push(chunk);
    }
    return decodeAppearance(Buffer.concat(chunks), `${what}: its appearance`);
  }

  /** One call to the edge's render API; an error answer is thrown as the error class it names. */
  private async call(method: 'POST' | 'PUT', path: string, body?: Uint8Array | Record<string, unknown>): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    let payload: string | Uint8Array | undefined;
    if (body instanceof Uint8Array) {
      headers['content-type'] = 'video/mp4';
      payload = body;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(`${this.edge}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(120_000) });
    if (res.ok) return res;
    const error = await answeredError(res, `${method} ${path}`);
    if (error instanceof UnauthorizedError) throw new UnauthorizedError(`the edge refused this node's token (${error.message}): make one with npm run render-node:token`);
    throw error;
  }
}
