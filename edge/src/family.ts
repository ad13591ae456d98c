import { Hono } from 'hono';
import { z } from 'zod';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../contracts/index.ts';
import { settingsOf, type AccountSettings } from './accounts.ts';
import { requireUser, sha256Hex, type AuthEnv, type SessionUser } from './auth.ts';
import { feedMinutesToday } from './feed.ts';
import { parseJsonBody } from './request-body.ts';

/**
 * Settings and parental controls. Anyone changes their own settings; a teen may tighten theirs but
 * only a linked parent may loosen them. A teen links a parent by making a short-lived code and giving
 * it to them; the parent then sees and sets the teen's limits — settings and feed time, never their
 * videos, drafts or cameos. Teens are not contacted (granted cameos) by adults they don't know.
 */
export const LINK_CODE_TTL_S = 15 * 60;
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export const SettingsSchema = z.strictObject({
  dailyFeedMinutes: z.number().int().min(5, 'must be at least 5 minutes').max(600, 'must be at most 600 minutes').nullable().optional(),
  contentFilter: z.enum(['standard', 'strict']).optional(),
  contactFromUnknownAdults: z.boolean().optional(),
});
export const LinkSchema = z.strictObject({ code: z.string().regex(/^[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}$/, 'must be the 8-character code from the teen’s account (like ABCD-2345)') });

type SettingsChange = z.output<typeof SettingsSchema>;

export interface ChildView {
  readonly id: string;
  readonly handle: string;
  readonly settings: AccountSettings;
  readonly linkedAt: number;
  readonly feedMinutesToday: number;
}

const nowS = () => Math.floor(Date.now() / 1000);

function apply(current: AccountSettings, change: SettingsChange): AccountSettings {
  return {
    dailyFeedMinutes: change.dailyFeedMinutes === undefined ? current.dailyFeedMinutes : change.dailyFeedMinutes,
    contentFilter: change.contentFilter ?? current.contentFilter,
    contactFromUnknownAdults: change.contactFromUnknownAdults ?? current.contactFromUnknownAdults,
  };
}

/** The fields of `next` that are looser than `current`, named for the error. */
function loosened(current: AccountSettings, next: AccountSettings): string[] {
  const out: string[] = [];
  const cap = (m: number | null) => m ?? Number.POSITIVE_INFINITY;
  if (cap(next.dailyFeedMinutes) > cap(current.dailyFeedMinutes)) out.push('dailyFeedMinutes');
  if (current.contentFilter === 'strict' && next.contentFilter === 'standard') out.push('contentFilter');
  if (!current.contactFromUnknownAdults && next.contactFromUnknownAdults) out.push('contactFromUnknownAdults');
  return out;
}

async function writeSettings(db: D1Database, userId: string, settings: AccountSettings): Promise<void> {
  await db.prepare('UPDATE users SET settings_json = ? WHERE id = ?').bind(JSON.stringify(settings), userId).run();
}

/**
 * May `from` reach `toId` (grant them a cameo, and later message them)? Everyone may, except an adult
 * reaching a teen who turned contact from unknown adults off — unless the teen knows them: the teen
 * granted them one of their own cameos, or they are the teen's linked parent.
 */
export async function mayContact(db: D1Database, from: SessionUser, toId: string): Promise<boolean> {
  if (from.isTeen) return true;
  const target = await db.prepare('SELECT is_teen, settings_json FROM users WHERE id = ?').bind(toId).first<{ is_teen: number; settings_json: string }>();
  if (!target || target.is_teen === 0) return true;
  const settings = JSON.parse(target.settings_json) as AccountSettings;
  if (settings.contactFromUnknownAdults) return true;
  const known = await db
    .prepare('SELECT 1 FROM family_links WHERE child_id = ?1 AND parent_id = ?2 UNION SELECT 1 FROM cameo_grants g JOIN cameos c ON c.id = g.cameo_id WHERE c.owner_id = ?1 AND g.grantee_id = ?2 LIMIT 1')
    .bind(toId, from.id)
    .first();
  return known !== null;
}

async function ownChild(db: D1Database, parentId: string, childId: string): Promise<{ child_id: string; created_at: number }> {
  const row = await db.prepare('SELECT child_id, created_at FROM family_links WHERE child_id = ? AND parent_id = ?').bind(childId, parentId).first<{ child_id: string; created_at: number }>();
  if (!row) throw new NotFoundError({ resource: 'linked teen account', id: childId });
  return row;
}

async function childView(db: D1Database, childId: string, linkedAt: number): Promise<ChildView> {
  const row = await db.prepare('SELECT id, handle, settings_json FROM users WHERE id = ?').bind(childId).first<{ id: string; handle: string; settings_json: string }>();
  if (!row) throw new NotFoundError({ resource: 'linked teen account', id: childId });
  return { id: row.id, handle: row.handle, settings: JSON.parse(row.settings_json) as AccountSettings, linkedAt, feedMinutesToday: await feedMinutesToday(db, childId, nowS()) };
}

const normaliseCode = (code: string) => code.replace('-', '').toUpperCase();

export const settings = new Hono<AuthEnv>()
  .get('/', async (c) => {
    const user = requireUser(c);
    const parent = user.isTeen ? await c.env.DB.prepare('SELECT u.handle FROM family_links f JOIN users u ON u.id = f.parent_id WHERE f.child_id = ?').bind(user.id).first<{ handle: string }>() : null;
    return c.json({ settings: await settingsOf(c.env.DB, user.id), linkedParent: parent?.handle ?? null });
  })
  .patch('/', async (c) => {
    const user = requireUser(c);
    const change = await parseJsonBody(c, SettingsSchema, 'settings');
    const current = await settingsOf(c.env.DB, user.id);
    const next = apply(current, change);
    if (user.isTeen) {
      const looser = loosened(current, next);
      if (looser.length) throw new ForbiddenError(`a teen account's limits can only be loosened by a linked parent (${looser.join(', ')})`);
    }
    await writeSettings(c.env.DB, user.id, next);
    return c.json({ settings: next });
  });

export const family = new Hono<AuthEnv>()
  .post('/link-code', async (c) => {
    const user = requireUser(c);
    if (!user.isTeen) throw new ForbiddenError('parental controls link a teen account to a parent: make the code on the teen’s account');
    const linked = await c.env.DB.prepare('SELECT 1 FROM family_links WHERE child_id = ?').bind(user.id).first();
    if (linked) throw new ConflictError('this account is already linked to a parent');
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    const raw = [...bytes].map((b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('');
    const expiresAt = nowS() + LINK_CODE_TTL_S;
    await c.env.DB.batch([
      // One live code per teen: a new one replaces the old.
      c.env.DB.prepare('DELETE FROM family_link_codes WHERE child_id = ?').bind(user.id),
      c.env.DB.prepare('INSERT INTO family_link_codes (code_hash, child_id, expires_at) VALUES (?, ?, ?)').bind(await sha256Hex(raw), user.id, expiresAt),
    ]);
    return c.json({ code: `${raw.slice(0, 4)}-${raw.slice(4)}`, expiresAt }, 201);
  })
  .post('/children', async (c) => {
    const user = requireUser(c);
    if (user.isTeen) throw new ForbiddenError('only an adult account can be a parent account');
    const { code } = await parseJsonBody(c, LinkSchema, 'link');
    const hash = await sha256Hex(normaliseCode(code));
    const row = await c.env.DB.prepare('SELECT child_id, expires_at FROM family_link_codes WHERE code_hash = ?').bind(hash).first<{ child_id: string; expires_at: number }>();
    if (!row || row.expires_at <= nowS()) throw new ValidationError([{ field: 'link.code', message: 'is unknown or has expired: ask for a new code' }]);
    const now = nowS();
    const results = await c.env.DB.batch([
      c.env.DB.prepare('DELETE FROM family_link_codes WHERE code_hash = ?').bind(hash),
      c.env.DB.prepare('INSERT INTO family_links (child_id, parent_id, created_at) VALUES (?, ?, ?) ON CONFLICT (child_id) DO NOTHING').bind(row.child_id, user.id, now),
    ]);
    if (results[1]?.meta.changes === 0) throw new ConflictError('that teen account is already linked to a parent');
    return c.json(await childView(c.env.DB, row.child_id, now), 201);
  })
  .get('/children', async (c) => {
    const user = requireUser(c);
    const rows = await c.env.DB.prepare('SELECT child_id, created_at FROM family_links WHERE parent_id = ? ORDER BY created_at').bind(user.id).all<{ child_id: string; created_at: number }>();
    return c.json({ children: await Promise.all(rows.results.map((r) => childView(c.env.DB, r.child_id, r.created_at))) });
  })
  .patch('/children/:id/settings', async (c) => {
    const user = requireUser(c);
    const link = await ownChild(c.env.DB, user.id, c.req.param('id'));
    const change = await parseJsonBody(c, SettingsSchema, 'settings');
    await writeSettings(c.env.DB, link.child_id, apply(await settingsOf(c.env.DB, link.child_id), change));
    return c.json(await childView(c.env.DB, link.child_id, link.created_at));
  })
  .delete('/children/:id', async (c) => {
    const user = requireUser(c);
    const link = await ownChild(c.env.DB, user.id, c.req.param('id'));
    await c.env.DB.prepare('DELETE FROM family_links WHERE child_id = ?').bind(link.child_id).run();
    return c.body(null, 204);
  });
