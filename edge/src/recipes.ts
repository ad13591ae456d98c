import { Hono } from 'hono';
import { z } from 'zod';
import { canonicalRecipeJson, ConflictError, NotFoundError, parseRemixLink, RecipeIdSchema, RecipeSchema, recipeIdOf, ValidationError, type Recipe } from '../../contracts/index.ts';
import { requireUser, type AuthEnv, type SessionUser } from './auth.ts';
import { assertRecipeAllowed } from './moderation.ts';
import { dropVideoIfUnpublished, readMp4Body, serveMp4, videoKey } from './videos.ts';
import { checkConsent } from './signing-keys.ts';
import { parseJsonBody } from './request-body.ts';

/**
 * Recipes and remix links. A recipe is stored once under its content id (`recipeId`); publishing
 * records who published it. Anyone can fetch a recipe with its lineage (its parent, and the
 * remixes made from it); a remix link's fragment recipe is validated before it is accepted.
 */
export interface RecipeView {
  readonly id: string;
  readonly recipe: Recipe;
  readonly parent: string | null;
  /** Remixes of this recipe known here, newest first. */
  readonly children: readonly string[];
  readonly publishedAt: number;
}

export const PublishSchema = z.strictObject({ recipe: RecipeSchema });
export const ImportSchema = z.strictObject({ link: z.string().min(1).max(16_384) });

async function store(db: D1Database, recipe: Recipe, user: SessionUser, source: 'made' | 'link', origin: string): Promise<string> {
  // Every cameo needs a valid consent token for this publisher, checked before anything is written.
  const uses: CheckedCameoUse[] = [];
  for (const cameo of recipe.cameos) {
    const claims = await checkConsent(db, cameo.consentToken, { origin, audience: `${origin}/u/${user.handle}`, cameoId: cameo.cameoId, scope: recipe.parent ? 'remix' : 'generate' });
    uses.push({ cameoId: cameo.cameoId, jti: claims.jti });
  }
  return writePublication(db, recipe, user, source, uses);
}

/** A cameo use whose consent token was checked: by this instance, or by federation against its issuer. */
export interface CheckedCameoUse {
  readonly cameoId: string;
  readonly jti: string;
  /** The issuing instance's origin; absent for this instance. */
  readonly issuer?: string;
}

/**
 * Writes a recipe, its publication and its cameo uses (and `also`, e.g. where an import came from)
 * in one batch: they land together or not at all. Consent must have been checked already.
 */
export async function writePublication(db: D1Database, recipe: Recipe, user: SessionUser, source: 'made' | 'link', uses: readonly CheckedCameoUse[], also: (id: string, now: number) => D1PreparedStatement[] = () => []): Promise<string> {
  const id = await recipeIdOf(recipe);
  const now = Math.floor(Date.now() / 1000);
  // Every way in (made here, a remix link, another instance) passes the prompt policy here.
  await assertRecipeAllowed(db, recipe, user, id);
  await db.batch([
    db.prepare('INSERT INTO recipes (id, canonical_json, parent_id, model_id, model_version, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING').bind(id, canonicalRecipeJson(recipe), recipe.parent, recipe.model.id, recipe.model.version, now),
    db.prepare('INSERT INTO recipe_publications (recipe_id, user_id, source, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (recipe_id, user_id) DO NOTHING').bind(id, user.id, source, now),
    ...uses.map((u) => db.prepare('INSERT INTO recipe_cameos (recipe_id, cameo_id, publisher_id, jti, issuer, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING').bind(id, u.cameoId, user.id, u.jti, u.issuer ?? null, now)),
    ...also(id, now),
  ]);
  return id;
}

export async function readRecipe(db: D1Database, id: string): Promise<RecipeView> {
  // A recipe nobody publishes any more (withdrawn, or taken down by a cameo's owner) is gone.
  const row = await db
    .prepare('SELECT canonical_json, parent_id, created_at FROM recipes r WHERE id = ? AND EXISTS (SELECT 1 FROM recipe_publications p WHERE p.recipe_id = r.id)')
    .bind(id)
    .first<{ canonical_json: string; parent_id: string | null; created_at: number }>();
  if (!row) throw new NotFoundError({ resource: 'recipe', id });
  const children = await db
    .prepare('SELECT id FROM recipes r WHERE parent_id = ? AND EXISTS (SELECT 1 FROM recipe_publications p WHERE p.recipe_id = r.id) ORDER BY created_at DESC, id LIMIT 100')
    .bind(id)
    .all<{ id: string }>();
  return { id, recipe: RecipeSchema.parse(JSON.parse(row.canonical_json)), parent: row.parent_id, children: children.results.map((r) => r.id), publishedAt: row.created_at };
}

export const recipes = new Hono<AuthEnv>()
  .post('/', async (c) => {
    const user = requireUser(c);
    const { recipe } = await parseJsonBody(c, PublishSchema, 'publish');
    const id = await store(c.env.DB, recipe, user, 'made', new URL(c.req.url).origin);
    return c.json(await readRecipe(c.env.DB, id), 201);
  })
  .post('/from-link', async (c) => {
    const user = requireUser(c);
    const { link } = await parseJsonBody(c, ImportSchema, 'import');
    let parsed;
    try {
      parsed = parseRemixLink(link);
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw new ValidationError([{ field: 'import.link', message: `is not a remix link (${(error as Error).message})` }]);
    }
    if (parsed.kind === 'id') return c.json(await readRecipe(c.env.DB, parsed.recipeId));
    const id = await store(c.env.DB, parsed.recipe, user, 'link', new URL(c.req.url).origin);
    return c.json(await readRecipe(c.env.DB, id), 201);
  })
  .get('/:id', async (c) => {
    const id = c.req.param('id');
    const check = RecipeIdSchema.safeParse(id);
    if (!check.success) throw new ValidationError([{ field: 'recipe.id', message: 'must be a recipe id (52 base32 characters)' }]);
    c.header('Cache-Control', 'public, max-age=60');
    return c.json(await readRecipe(c.env.DB, id));
  })
  .delete('/:id/publication', async (c) => {
    const user = requireUser(c);
    const result = await c.env.DB.prepare('DELETE FROM recipe_publications WHERE recipe_id = ? AND user_id = ?').bind(c.req.param('id'), user.id).run();
    if (result.meta.changes === 0) throw new NotFoundError({ resource: 'your publication of recipe', id: c.req.param('id') });
    await dropVideoIfUnpublished(c.env.DB, c.env.MEDIA, c.req.param('id'));
    return c.body(null, 204);
  })
  .put('/:id/video', async (c) => {
    const user = requireUser(c);
    const id = recipeIdParam(c.req.param('id'));
    const mine = await c.env.DB.prepare('SELECT 1 FROM recipe_publications WHERE recipe_id = ? AND user_id = ?').bind(id, user.id).first();
    if (!mine) throw new NotFoundError({ resource: 'your publication of recipe', id });
    const bytes = await readMp4Body(c, 'video');
    const existing = await c.env.MEDIA.head(videoKey(id));
    if (existing && existing.customMetadata?.['uploader'] !== user.id) throw new ConflictError('this recipe already has its video, uploaded by its first publisher');
    await c.env.MEDIA.put(videoKey(id), bytes, { httpMetadata: { contentType: 'video/mp4' }, customMetadata: { uploader: user.id, recipeId: id } });
    return c.json({ recipeId: id, bytes: bytes.byteLength, url: `/api/recipes/${id}/video` }, 201);
  })
  .get('/:id/video', async (c) => {
    const id = recipeIdParam(c.req.param('id'));
    await readRecipe(c.env.DB, id);
    const res = await serveMp4(c, c.env.MEDIA, videoKey(id), { 'cache-control': 'public, max-age=300' });
    if (!res) throw new NotFoundError({ resource: 'video of recipe', id });
    return res;
  });

function recipeIdParam(id: string): string {
  if (!RecipeIdSchema.safeParse(id).success) throw new ValidationError([{ field: 'recipe.id', message: 'must be a recipe id (52 base32 characters)' }]);
  return id;
}
