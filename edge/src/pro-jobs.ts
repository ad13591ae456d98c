import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { ConflictError, ConsentError, NotFoundError, RateLimitedError, RecipeIdSchema, UnauthorizedError } from '../../contracts/index.ts';
import { requireUser, sha256Hex, type AuthEnv } from './auth.ts';
import { LEASE_S, type JobView } from './pro-queue.ts';
import { assertRecipeAllowed } from './moderation.ts';
import { readRecipe } from './recipes.ts';
import { assertMp4, checkMp4Headers, readLimitedBody, serveMp4 } from './videos.ts';
import { parseJsonBody } from './request-body.ts';
import { checkConsent } from './signing-keys.ts';

/**
 * Pro renders: a signed-in person submits a published recipe (a daily quota applies), watches its
 * status and downloads the video; render nodes, with their bearer tokens, lease jobs, keep leases
 * alive, upload the MP4 (stored in R2, which completes the job) or report a failure.
 */
export const PRO_DAILY_QUOTA = 5;
/** Largest MP4 a render node may upload. */
export const RENDER_MAX_BYTES = 64 * 1024 * 1024;
/** Where a job's video lives in the MEDIA bucket. */
export const renderKey = (jobId: string) => `renders/${jobId}.mp4`;
const SubmitSchema = z.strictObject({ recipeId: RecipeIdSchema });
const CompleteSchema = z.strictObject({ resultKey: z.string().regex(/^renders\/[\w./-]{1,200}$/, 'must be an R2 key under renders/') });
const FailSchema = z.strictObject({ reason: z.string().min(1).max(500) });

const nowS = () => Math.floor(Date.now() / 1000);
const queue = (env: Env) => env.PRO_QUEUE.get(env.PRO_QUEUE.idFromName('pro-queue'));

/** What the job's owner sees (not which node holds it). */
const forOwner = (j: JobView) => ({ id: j.id, recipeId: j.recipeId, status: j.status, attempts: j.attempts, resultKey: j.resultKey, error: j.error, createdAt: j.createdAt, updatedAt: j.updatedAt });

/** The id of the registered render node whose token the request shows (`Authorization: Bearer <64 hex>`); 401 otherwise. */
export async function requireNode(c: Context<AuthEnv>): Promise<string> {
  const token = /^Bearer ([0-9a-f]{64})$/.exec(c.req.header('authorization') ?? '')?.[1];
  const node = token ? await c.env.DB.prepare('SELECT id FROM render_nodes WHERE token_hash = ?').bind(await sha256Hex(token)).first<{ id: string }>() : null;
  if (!node) throw new UnauthorizedError('a render node must send its token as Authorization: Bearer <token>');
  return node.id;
}

/**
 * Whether render node `nodeId` holds, now, the lease of a job whose recipe carries `consentToken`
 * (exactly) for one of its cameos: then it may fetch that cameo's appearance to draw it. The recipe
 * must still be published, as at lease time: a use the cameo's owner took down is not drawn.
 */
export async function rendersWithConsent(env: Env, nodeId: string, consentToken: string): Promise<boolean> {
  const held = await queue(env).leasedTo(nodeId, nowS());
  if (held.length === 0) return false;
  const carrying = await env.DB.prepare(
    `SELECT 1 AS carries FROM recipes r, json_each(r.canonical_json, '$.cameos') k
     WHERE r.id IN (SELECT value FROM json_each(?1)) AND json_extract(k.value, '$.consentToken') = ?2
       AND EXISTS (SELECT 1 FROM recipe_publications p WHERE p.recipe_id = r.id)
     LIMIT 1`,
  )
    .bind(JSON.stringify(held.map((j) => j.recipeId)), consentToken)
    .first();
  return carrying !== null;
}

/** A lease the node no longer holds (it ran out, or was never this node's) is a conflict. */
async function leaseCall<T>(id: string, call: () => Promise<T | null>): Promise<T> {
  const result = await call();
  if (result === null) throw new ConflictError(`job ${id} is not leased to this node (the lease ran out or belongs to another node)`);
  return result;
}

export const proJobs = new Hono<AuthEnv>()
  .post('/', async (c) => {
    const user = requireUser(c);
    const { recipeId } = await parseJsonBody(c, SubmitSchema, 'job');
    // The policy again at submit: a recipe published before a rule changed is still checked.
    const { recipe } = await readRecipe(c.env.DB, recipeId);
    await assertRecipeAllowed(c.env.DB, recipe, user, recipeId);
    // A cameo is drawn for its grantee only: a published recipe shows its consent tokens to anyone,
    // and a render node fetches the face for the job, so only someone each token was issued to (or
    // a token for everyone) may send the recipe to be rendered.
    const origin = new URL(c.req.url).origin;
    for (const [i, cameo] of recipe.cameos.entries()) {
      await checkConsent(c.env.DB, cameo.consentToken, { origin, audience: `${origin}/u/${user.handle}`, cameoId: cameo.cameoId, scope: null }).catch((error: unknown) => {
        if (!(error instanceof ConsentError)) throw error;
        throw new ConsentError({ reason: error.reason, cameoId: cameo.cameoId }, `recipe.cameos[${i}] (cameo ${cameo.cameoId}): ${error.message}; a recipe with a cameo is rendered for the person its consent token was issued to`);
      });
    }
    const q = queue(c.env);
    const since = nowS() - 24 * 3600;
    const used = await q.submittedSince(user.id, since);
    if (used >= PRO_DAILY_QUOTA) throw new RateLimitedError({ retryAfterS: 3600 }, `you have used your ${PRO_DAILY_QUOTA} Pro renders for the last 24 h`);
    const job = await q.submit(`job_${crypto.randomUUID().replaceAll('-', '')}`, user.id, recipeId, nowS());
    return c.json(forOwner(job), 201);
  })
  .get('/:id', async (c) => {
    const user = requireUser(c);
    const job = await queue(c.env).status(c.req.param('id'));
    if (!job || job.userId !== user.id) throw new NotFoundError({ resource: 'Pro job', id: c.req.param('id') });
    c.header('Cache-Control', 'no-store');
    return c.json(forOwner(job));
  })
  .get('/:id/video', async (c) => {
    const user = requireUser(c);
    const id = c.req.param('id');
    const job = await queue(c.env).status(id);
    if (!job || job.userId !== user.id) throw new NotFoundError({ resource: 'Pro job', id });
    if (job.status === 'failed') throw new ConflictError(`Pro job ${id} failed (${job.error ?? 'no reason given'}), so it has no video`);
    if (job.status !== 'done') throw new ConflictError(`Pro job ${id} is ${job.status}: its video can be downloaded once it is done`);
    const res = await serveMp4(c, c.env.MEDIA, job.resultKey ?? renderKey(id), { 'cache-control': 'private, max-age=3600', 'content-disposition': `inline; filename="${id}.mp4"` });
    if (!res) throw new NotFoundError({ resource: 'video of Pro job', id });
    return res;
  });

export const renderNodes = new Hono<AuthEnv>()
  .post('/lease', async (c) => {
    const node = await requireNode(c);
    const job = await queue(c.env).lease(node, nowS());
    return job ? c.json({ id: job.id, recipeId: job.recipeId, recipe: (await readRecipe(c.env.DB, job.recipeId)).recipe, leaseExpiresAt: job.leaseExpiresAt, leaseS: LEASE_S, attempt: job.attempts }) : c.body(null, 204);
  })
  .post('/jobs/:id/heartbeat', async (c) => {
    const node = await requireNode(c);
    const job = await leaseCall(c.req.param('id'), () => queue(c.env).heartbeat(c.req.param('id'), node, nowS()));
    return c.json({ id: job.id, leaseExpiresAt: job.leaseExpiresAt });
  })
  .post('/jobs/:id/complete', async (c) => {
    const node = await requireNode(c);
    const { resultKey } = await parseJsonBody(c, CompleteSchema, 'result');
    const job = await leaseCall(c.req.param('id'), () => queue(c.env).complete(c.req.param('id'), node, resultKey, nowS()));
    return c.json({ id: job.id, status: job.status });
  })
  // The upload completes the job in the same call: the key is the server's to choose, and there is
  // no window in which the video is stored but the job not done (or done with nothing stored).
  .put('/jobs/:id/result', async (c) => {
    const node = await requireNode(c);
    const id = c.req.param('id');
    checkMp4Headers(c, 'result', RENDER_MAX_BYTES);
    // Checked (and renewed, so the upload has a whole lease) before a byte is read or written.
    const job = await leaseCall(id, () => queue(c.env).heartbeat(id, node, nowS()));
    const bytes = await readLimitedBody(c.req.raw, RENDER_MAX_BYTES);
    assertMp4(bytes, 'result');
    const key = renderKey(id);
    await c.env.MEDIA.put(key, bytes, { httpMetadata: { contentType: 'video/mp4' }, customMetadata: { jobId: id, recipeId: job.recipeId, nodeId: node } });
    const done = await queue(c.env).complete(id, node, key, nowS());
    if (!done) {
      // The lease ran out during the upload. Keep the file only if another node has finished the job with it.
      if ((await queue(c.env).status(id))?.status !== 'done') await c.env.MEDIA.delete(key);
      throw new ConflictError(`job ${id} is not leased to this node (the lease ran out during the upload)`);
    }
    return c.json({ id, status: done.status, resultKey: key, bytes: bytes.byteLength });
  })
  .post('/jobs/:id/fail', async (c) => {
    const node = await requireNode(c);
    const { reason } = await parseJsonBody(c, FailSchema, 'failure');
    const job = await leaseCall(c.req.param('id'), () => queue(c.env).fail(c.req.param('id'), node, reason, nowS()));
    return c.json({ id: job.id, status: job.status, attempts: job.attempts });
  });
