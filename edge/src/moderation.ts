import { Hono } from 'hono';
import { z } from 'zod';
import { checkPrompt, ConflictError, describeViolations, ForbiddenError, NotFoundError, RecipeIdSchema, ValidationError, type PolicyVerdict, type Recipe } from '../../contracts/index.ts';
import { requireUser, type AuthEnv, type SessionUser } from './auth.ts';
import { settingsOf } from './accounts.ts';
import { parseJsonBody } from './request-body.ts';
import { dropVideoIfUnpublished } from './videos.ts';

/**
 * Moderation: the prompt policy where recipes enter the instance (publish, remix-link import, Pro
 * submit), a real person's likeness refused without a cameo, and reports that go to a review queue
 * where a moderator dismisses them or removes the recipe from the instance.
 */
export const REPORT_REASONS = ['sexual', 'violence', 'self_harm', 'hate', 'weapons', 'likeness', 'harassment', 'spam', 'other'] as const;

export const PolicyCheckSchema = z.strictObject({ prompt: z.string().min(1).max(2000), hasCameo: z.boolean().optional() });
export const ReportSchema = z.strictObject({ recipeId: RecipeIdSchema, reason: z.enum(REPORT_REASONS), note: z.string().max(1000, 'must be at most 1000 characters').optional() });
export const DecisionSchema = z.strictObject({ action: z.enum(['dismiss', 'remove']), note: z.string().max(1000, 'must be at most 1000 characters').optional() });

export interface ReportView {
  readonly id: string;
  readonly recipeId: string;
  readonly reason: (typeof REPORT_REASONS)[number];
  readonly note: string;
  readonly status: 'open' | 'dismissed' | 'removed';
  readonly createdAt: number;
}

const nowS = () => Math.floor(Date.now() / 1000);

/**
 * Refuses a recipe whose prompt breaks the policy (with the stricter filter for accounts that use it),
 * or that a moderator removed from this instance. Called before anything is written.
 */
export async function assertRecipeAllowed(db: D1Database, recipe: Recipe, user: SessionUser, id: string): Promise<void> {
  const strict = (await settingsOf(db, user.id)).contentFilter === 'strict';
  const verdict = checkPrompt(recipe.prompt, { hasCameo: recipe.cameos.length > 0, strict });
  if (!verdict.allowed) throw new ValidationError([{ field: 'recipe.prompt', message: `is refused by the prompt policy: ${describeViolations(verdict)}` }]);
  const removed = await db.prepare('SELECT 1 FROM recipe_removals WHERE recipe_id = ?').bind(id).first();
  if (removed) throw new ForbiddenError('this recipe was removed by a moderator of this instance and cannot be published here again');
}

async function requireModerator(c: { env: Env }, user: SessionUser): Promise<void> {
  const row = await c.env.DB.prepare('SELECT role FROM users WHERE id = ?').bind(user.id).first<{ role: string }>();
  if (row?.role !== 'moderator') throw new ForbiddenError('only moderators review reports');
}

const view = (r: { id: string; recipe_id: string; reason: ReportView['reason']; note: string; status: ReportView['status']; created_at: number }): ReportView => ({ id: r.id, recipeId: r.recipe_id, reason: r.reason, note: r.note, status: r.status, createdAt: r.created_at });

export const moderation = new Hono<AuthEnv>()
  .post('/check', async (c) => {
    // The composer asks before it generates a Draft; signed in, the account's filter applies.
    const { prompt, hasCameo } = await parseJsonBody(c, PolicyCheckSchema, 'check');
    const user = c.get('user');
    const strict = user ? (await settingsOf(c.env.DB, user.id)).contentFilter === 'strict' : false;
    const verdict: PolicyVerdict = checkPrompt(prompt, { hasCameo: hasCameo ?? false, strict });
    return c.json(verdict);
  })
  .get('/reports', async (c) => {
    const user = requireUser(c);
    await requireModerator(c, user);
    const status = c.req.query('status') ?? 'open';
    if (!['open', 'dismissed', 'removed'].includes(status)) throw new ValidationError([{ field: 'reports.status', message: 'must be open, dismissed or removed' }]);
    // Oldest first, with how many people reported the same recipe, and its prompt to judge by.
    const rows = await c.env.DB.prepare(
      `SELECT rp.id, rp.recipe_id, rp.reason, rp.note, rp.status, rp.created_at, r.canonical_json,
         (SELECT COUNT(*) FROM reports o WHERE o.recipe_id = rp.recipe_id AND o.status = 'open') AS open_on_recipe
       FROM reports rp JOIN recipes r ON r.id = rp.recipe_id WHERE rp.status = ? ORDER BY rp.created_at, rp.id LIMIT 200`,
    )
      .bind(status)
      .all<{ id: string; recipe_id: string; reason: ReportView['reason']; note: string; status: ReportView['status']; created_at: number; canonical_json: string; open_on_recipe: number }>();
    return c.json({ reports: rows.results.map((r) => ({ ...view(r), prompt: (JSON.parse(r.canonical_json) as Recipe).prompt, openReportsOnRecipe: r.open_on_recipe })) });
  })
  .post('/reports/:id/decision', async (c) => {
    const user = requireUser(c);
    await requireModerator(c, user);
    const { action, note } = await parseJsonBody(c, DecisionSchema, 'decision');
    const report = await c.env.DB.prepare('SELECT id, recipe_id, status FROM reports WHERE id = ?').bind(c.req.param('id')).first<{ id: string; recipe_id: string; status: string }>();
    if (!report) throw new NotFoundError({ resource: 'report', id: c.req.param('id') });
    if (report.status !== 'open') throw new ConflictError(`this report was already decided (${report.status})`);
    const now = nowS();
    const db = c.env.DB;
    if (action === 'dismiss') {
      await db.prepare("UPDATE reports SET status = 'dismissed', decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ?").bind(user.id, now, note ?? null, report.id).run();
    } else {
      // Removal takes every publication down, closes every open report on the recipe, and keeps it from coming back.
      await db.batch([
        db.prepare('INSERT INTO recipe_removals (recipe_id, report_id, removed_by, removed_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').bind(report.recipe_id, report.id, user.id, now),
        db.prepare('DELETE FROM recipe_publications WHERE recipe_id = ?').bind(report.recipe_id),
        db.prepare("UPDATE reports SET status = 'removed', decided_by = ?, decided_at = ?, decision_note = ? WHERE recipe_id = ? AND status = 'open'").bind(user.id, now, note ?? null, report.recipe_id),
      ]);
      await dropVideoIfUnpublished(db, c.env.MEDIA, report.recipe_id);
    }
    return c.json({ id: report.id, recipeId: report.recipe_id, status: action === 'dismiss' ? 'dismissed' : 'removed' });
  });

export const reports = new Hono<AuthEnv>()
  .post('/', async (c) => {
    const user = requireUser(c);
    const { recipeId, reason, note } = await parseJsonBody(c, ReportSchema, 'report');
    const published = await c.env.DB.prepare('SELECT 1 FROM recipe_publications WHERE recipe_id = ? LIMIT 1').bind(recipeId).first();
    if (!published) throw new NotFoundError({ resource: 'recipe', id: recipeId });
    const id = `rep_${crypto.randomUUID().replaceAll('-', '')}`;
    const result = await c.env.DB.prepare('INSERT INTO reports (id, recipe_id, reporter_id, reason, note, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (recipe_id, reporter_id) DO NOTHING')
      .bind(id, recipeId, user.id, reason, note ?? '', nowS())
      .run();
    if (result.meta.changes === 0) throw new ConflictError('you have already reported this recipe');
    return c.json({ id, recipeId, reason, note: note ?? '', status: 'open', createdAt: nowS() } satisfies ReportView, 201);
  })
  .get('/mine', async (c) => {
    const user = requireUser(c);
    const rows = await c.env.DB.prepare('SELECT id, recipe_id, reason, note, status, created_at FROM reports WHERE reporter_id = ? ORDER BY created_at DESC LIMIT 200')
      .bind(user.id)
      .all<{ id: string; recipe_id: string; reason: ReportView['reason']; note: string; status: ReportView['status']; created_at: number }>();
    return c.json({ reports: rows.results.map(view) });
  });
