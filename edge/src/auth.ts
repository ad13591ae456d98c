import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { ForbiddenError, RateLimitedError, UnauthorizedError } from '../../contracts/index.ts';

/**
 * Passwords, sessions, CSRF and the sign-in rate limit. Sessions are opaque random tokens in an
 * HttpOnly, SameSite=Lax cookie (Secure over https), stored server-side only as their SHA-256; every
 * state-changing request made with a session must echo the session's CSRF token in X-CSRF-Token.
 */
export const SESSION_COOKIE = 'zt_session';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_S = 30 * 24 * 3600;
/** workerd's PBKDF2 ceiling, and the floor. */
export const PASSWORD_ITERATIONS = 100_000;
export const SIGN_IN_LIMIT = { failures: 5, windowS: 15 * 60 } as const;

const hex = (bytes: ArrayBuffer | Uint8Array) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
const randomHex = (bytes: number) => hex(crypto.getRandomValues(new Uint8Array(bytes)));
export const sha256Hex = async (text: string) => hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

export async function hashPassword(password: string, saltHex = randomHex(16), iterations = PASSWORD_ITERATIONS): Promise<{ hash: string; salt: string; iterations: number }> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
  const salt = new Uint8Array(saltHex.match(/../g)!.map((h) => parseInt(h, 16)));
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, 256);
  return { hash: hex(bits), salt: saltHex, iterations };
}

/** Constant-time comparison of two hex strings of equal length. */
export function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export interface SessionUser {
  readonly id: string;
  readonly handle: string;
  readonly isTeen: boolean;
  readonly csrfToken: string;
}

export type AuthEnv = { Bindings: Env; Variables: { user: SessionUser | null } };

export async function startSession(c: Context<AuthEnv>, userId: string, now = Math.floor(Date.now() / 1000)): Promise<string> {
  const token = randomHex(32);
  const csrf = randomHex(16);
  await c.env.DB.prepare('INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
    .bind(await sha256Hex(token), userId, csrf, now, now + SESSION_TTL_S)
    .run();
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Lax', secure: new URL(c.req.url).protocol === 'https:', path: '/', maxAge: SESSION_TTL_S });
  return csrf;
}

export async function endSession(c: Context<AuthEnv>): Promise<void> {
  const token = getCookie(c, SESSION_COOKIE);
  if (token) await c.env.DB.prepare('DELETE FROM sessions WHERE token_hash = ?').bind(await sha256Hex(token)).run();
  deleteCookie(c, SESSION_COOKIE, { path: '/' });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Reads the session (if any) into c.var.user, and refuses a state-changing request without the session's CSRF token. */
export const sessionMiddleware: MiddlewareHandler<AuthEnv> = async (c, next) => {
  const token = getCookie(c, SESSION_COOKIE);
  let user: SessionUser | null = null;
  if (token) {
    const row = await c.env.DB.prepare(
      'SELECT u.id, u.handle, u.is_teen, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?',
    )
      .bind(await sha256Hex(token))
      .first<{ id: string; handle: string; is_teen: number; csrf_token: string; expires_at: number }>();
    if (row && row.expires_at > Math.floor(Date.now() / 1000)) user = { id: row.id, handle: row.handle, isTeen: row.is_teen === 1, csrfToken: row.csrf_token };
  }
  if (user && !SAFE_METHODS.has(c.req.method)) {
    const sent = c.req.header(CSRF_HEADER) ?? '';
    if (!sameHex(sent, user.csrfToken)) {
      throw new ForbiddenError(`a signed-in request that changes something must carry the session's CSRF token in ${CSRF_HEADER}`);
    }
  }
  c.set('user', user);
  await next();
};

export function requireUser(c: Context<AuthEnv>): SessionUser {
  const user = c.get('user');
  if (!user) throw new UnauthorizedError();
  return user;
}

/** Refuses when `key` has failed SIGN_IN_LIMIT.failures times in the current window. */
export async function checkSignInLimit(db: D1Database, key: string, now = Math.floor(Date.now() / 1000)): Promise<void> {
  const row = await db.prepare('SELECT window_start, failures FROM sign_in_failures WHERE key = ?').bind(key).first<{ window_start: number; failures: number }>();
  if (row && now - row.window_start < SIGN_IN_LIMIT.windowS && row.failures >= SIGN_IN_LIMIT.failures) {
    throw new RateLimitedError({ retryAfterS: row.window_start + SIGN_IN_LIMIT.windowS - now }, `too many failed sign-ins: try again in ${row.window_start + SIGN_IN_LIMIT.windowS - now} s`);
  }
}

export async function recordSignInFailure(db: D1Database, key: string, now = Math.floor(Date.now() / 1000)): Promise<void> {
  await db
    .prepare(
      `INSERT INTO sign_in_failures (key, window_start, failures) VALUES (?1, ?2, 1)
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN ?2 - window_start >= ?3 THEN 1 ELSE failures + 1 END,
         window_start = CASE WHEN ?2 - window_start >= ?3 THEN ?2 ELSE window_start END`,
    )
    .bind(key, now, SIGN_IN_LIMIT.windowS)
    .run();
}
