import { Hono } from 'hono';
import { z } from 'zod';
import { ConflictError, UnauthorizedError, ValidationError } from '../../contracts/index.ts';
import { checkSignInLimit, endSession, hashPassword, recordSignInFailure, requireUser, sameHex, startSession, type AuthEnv } from './auth.ts';
import { parseJsonBody } from './request-body.ts';

/**
 * Sign-up, sign-in, sign-out and "who am I". The date of birth sets the account's defaults: under 13
 * is refused, 13–17 gets the teen defaults (a daily feed cap, stricter filters, no contact from
 * unknown adults), which a linked parent can later tighten.
 */
const HANDLE = z.string().regex(/^[a-zA-Z0-9_]{3,30}$/, 'must be 3–30 letters, digits or _');
const PASSWORD = z.string().min(10, 'must be at least 10 characters').max(200, 'must be at most 200 characters');
const DATE = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD');

export const SignUpSchema = z.strictObject({ handle: HANDLE, password: PASSWORD, birthDate: DATE });
export const SignInSchema = z.strictObject({ handle: HANDLE, password: z.string().min(1).max(200) });

export interface AccountSettings {
  readonly dailyFeedMinutes: number | null;
  readonly contentFilter: 'standard' | 'strict';
  readonly contactFromUnknownAdults: boolean;
}
export const ADULT_DEFAULTS: AccountSettings = { dailyFeedMinutes: null, contentFilter: 'standard', contactFromUnknownAdults: true };
export const TEEN_DEFAULTS: AccountSettings = { dailyFeedMinutes: 60, contentFilter: 'strict', contactFromUnknownAdults: false };

export interface Me {
  readonly id: string;
  readonly handle: string;
  readonly isTeen: boolean;
  readonly settings: AccountSettings;
  readonly csrfToken: string;
}

/** Whole years between a YYYY-MM-DD birth date and today (UTC); throws naming the field when the date is not real. */
export function ageOn(birthDate: string, today: Date): number {
  const [y, m, d] = birthDate.split('-').map(Number) as [number, number, number];
  const born = new Date(Date.UTC(y, m - 1, d));
  if (born.getUTCFullYear() !== y || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d) throw new ValidationError([{ field: 'account.birthDate', message: `is not a real date (${birthDate})` }]);
  if (born > today) throw new ValidationError([{ field: 'account.birthDate', message: 'is in the future' }]);
  let age = today.getUTCFullYear() - y;
  if (today.getUTCMonth() < m - 1 || (today.getUTCMonth() === m - 1 && today.getUTCDate() < d)) age--;
  return age;
}

/** A person's limits and filters (the teen defaults, or what they or a linked parent set). */
export async function settingsOf(db: D1Database, userId: string): Promise<AccountSettings> {
  const row = await db.prepare('SELECT settings_json FROM users WHERE id = ?').bind(userId).first<{ settings_json: string }>();
  if (!row) throw new UnauthorizedError('this account no longer exists');
  return JSON.parse(row.settings_json) as AccountSettings;
}

/** The `Me` body every sign-in answers with (password or passkey). */
export async function me(db: D1Database, userId: string, csrfToken: string): Promise<Me> {
  const row = await db.prepare('SELECT id, handle, is_teen, settings_json FROM users WHERE id = ?').bind(userId).first<{ id: string; handle: string; is_teen: number; settings_json: string }>();
  if (!row) throw new UnauthorizedError('this account no longer exists');
  return { id: row.id, handle: row.handle, isTeen: row.is_teen === 1, settings: JSON.parse(row.settings_json) as AccountSettings, csrfToken };
}

/** The sign-in limiter's key for the client's address. */
export const clientKey = (c: { req: { header(name: string): string | undefined } }) => `ip:${c.req.header('cf-connecting-ip') ?? 'local'}`;

export const accounts = new Hono<AuthEnv>()
  .post('/accounts', async (c) => {
    const body = await parseJsonBody(c, SignUpSchema, 'account');
    const age = ageOn(body.birthDate, new Date());
    if (age < 13) throw new ValidationError([{ field: 'account.birthDate', message: 'says you are under 13: Zoetrope accounts start at 13' }]);
    const isTeen = age < 18;
    const password = await hashPassword(body.password);
    const id = crypto.randomUUID();
    try {
      await c.env.DB.prepare('INSERT INTO users (id, handle, password_hash, password_salt, password_iterations, birth_date, is_teen, settings_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .bind(id, body.handle, password.hash, password.salt, password.iterations, body.birthDate, isTeen ? 1 : 0, JSON.stringify(isTeen ? TEEN_DEFAULTS : ADULT_DEFAULTS), Math.floor(Date.now() / 1000))
        .run();
    } catch (error) {
      if (/UNIQUE constraint failed: users\.handle/.test((error as Error).message)) throw new ConflictError(`the handle ${body.handle} is taken`);
      throw error;
    }
    const csrf = await startSession(c, id);
    return c.json(await me(c.env.DB, id, csrf), 201);
  })
  .post('/sessions', async (c) => {
    const body = await parseJsonBody(c, SignInSchema, 'signIn');
    const keys = [`handle:${body.handle.toLowerCase()}`, clientKey(c)];
    for (const key of keys) await checkSignInLimit(c.env.DB, key);
    const row = await c.env.DB.prepare('SELECT id, password_hash, password_salt, password_iterations FROM users WHERE handle = ?')
      .bind(body.handle)
      .first<{ id: string; password_hash: string; password_salt: string; password_iterations: number }>();
    // The same work whether or not the handle exists, so timing does not tell.
    const attempt = await hashPassword(body.password, row?.password_salt ?? '00'.repeat(16), row?.password_iterations);
    if (!row || !sameHex(attempt.hash, row.password_hash)) {
      for (const key of keys) await recordSignInFailure(c.env.DB, key);
      throw new UnauthorizedError('that handle and password do not match');
    }
    await c.env.DB.prepare('DELETE FROM sign_in_failures WHERE key = ?').bind(keys[0]).run();
    const csrf = await startSession(c, row.id);
    return c.json(await me(c.env.DB, row.id, csrf), 200);
  })
  .delete('/sessions/current', async (c) => {
    requireUser(c);
    await endSession(c);
    return c.body(null, 204);
  })
  .get('/me', async (c) => {
    const user = requireUser(c);
    c.header('Cache-Control', 'no-store');
    return c.json(await me(c.env.DB, user.id, user.csrfToken));
  });
