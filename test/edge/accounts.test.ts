import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { deserializeError } from '../../contracts/index.ts';
import { ageOn, TEEN_DEFAULTS, type Me } from '../../edge/src/accounts.ts';
import { hashPassword, PASSWORD_ITERATIONS, SIGN_IN_LIMIT } from '../../edge/src/auth.ts';

const BASE = 'http://edge.test/api';
const json = (body: unknown, headers: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
let n = 0;
const handle = () => `user_${Date.now() % 100000}_${n++}`;
const adult = '1990-04-02';

async function signUp(h = handle(), password = 'correct horse battery', birthDate = adult) {
  const res = await SELF.fetch(`${BASE}/accounts`, json({ handle: h, password, birthDate }));
  const cookie = res.headers.get('set-cookie') ?? '';
  return { res, h, password, cookie: cookie.split(';')[0] ?? '', setCookie: cookie, body: res.status < 300 ? await res.json<Me>() : await res.json() };
}

const userCount = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM users').first<{ n: number }>())?.n ?? 0;

describe('accounts and sessions', () => {
  it('signs up, sets an HttpOnly SameSite session cookie, and answers /me', async () => {
    const { res, h, cookie, setCookie, body } = await signUp();
    expect(res.status).toBe(201);
    expect(setCookie).toMatch(/zt_session=[0-9a-f]{64}/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect((body as Me).handle).toBe(h);
    expect((body as Me).isTeen).toBe(false);
    const meRes = await SELF.fetch(`${BASE}/me`, { headers: { cookie } });
    expect(meRes.status).toBe(200);
    expect(meRes.headers.get('cache-control')).toBe('no-store');
    expect((await meRes.json<Me>()).id).toBe((body as Me).id);
  });

  it('stores only a salted PBKDF2 hash of ≥ 100 000 iterations, and only the hash of the session token', async () => {
    const { h, password, cookie } = await signUp();
    const row = await env.DB.prepare('SELECT password_hash, password_salt, password_iterations FROM users WHERE handle = ?').bind(h).first<{ password_hash: string; password_salt: string; password_iterations: number }>();
    expect(row!.password_iterations).toBeGreaterThanOrEqual(100_000);
    expect(row!.password_iterations).toBe(PASSWORD_ITERATIONS);
    expect(row!.password_hash).not.toContain(password);
    expect((await hashPassword(password, row!.password_salt)).hash).toBe(row!.password_hash);
    const token = cookie.split('=')[1]!;
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM sessions WHERE token_hash = ?').bind(token).first<{ n: number }>()).toEqual({ n: 0 });
  });

  it('gives a 13–17 year old the teen defaults and refuses under 13, writing nothing', async () => {
    const today = new Date();
    const fifteen = `${today.getUTCFullYear() - 15}-01-01`;
    const teen = await signUp(handle(), 'correct horse battery', fifteen);
    expect((teen.body as Me).isTeen).toBe(true);
    expect((teen.body as Me).settings).toEqual(TEEN_DEFAULTS);
    const before = await userCount();
    const child = await signUp(handle(), 'correct horse battery', `${today.getUTCFullYear() - 10}-06-01`);
    expect(child.res.status).toBe(400);
    expect(deserializeError(child.body).message).toMatch(/account\.birthDate says you are under 13/);
    expect(await userCount()).toBe(before);
  });

  it('computes age on the birthday boundary and refuses dates that do not exist', () => {
    const today = new Date(Date.UTC(2026, 10, 25));
    expect(ageOn('2008-11-25', today)).toBe(18);
    expect(ageOn('2008-11-26', today)).toBe(17);
    expect(() => ageOn('2010-02-30', today)).toThrow(/account\.birthDate is not a real date/);
  });

  it('refuses a taken handle (any case) with 409, and bad fields with 400 naming them, writing nothing', async () => {
    const { h } = await signUp();
    const before = await userCount();
    const again = await SELF.fetch(`${BASE}/accounts`, json({ handle: h.toUpperCase(), password: 'another long password', birthDate: adult }));
    expect(again.status).toBe(409);
    const bad = await SELF.fetch(`${BASE}/accounts`, json({ handle: 'x', password: 'short', birthDate: '1990/01/01' }));
    expect(bad.status).toBe(400);
    const error = deserializeError(await bad.json());
    expect(error.message).toMatch(/account\.handle must be 3–30 letters/);
    expect(error.message).toMatch(/account\.password must be at least 10 characters/);
    const malformed = await SELF.fetch(`${BASE}/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"handle": ' });
    expect(malformed.status).toBe(400);
    expect(await userCount()).toBe(before);
  });

  it('signs in with the right password only, and says nothing about which part was wrong', async () => {
    const { h, password } = await signUp();
    const ok = await SELF.fetch(`${BASE}/sessions`, json({ handle: h, password }));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('set-cookie')).toMatch(/zt_session=/);
    const wrong = await SELF.fetch(`${BASE}/sessions`, json({ handle: h, password: 'not the password' }));
    const nobody = await SELF.fetch(`${BASE}/sessions`, json({ handle: handle(), password: 'not the password' }));
    expect(wrong.status).toBe(401);
    expect(nobody.status).toBe(401);
    expect(deserializeError(await wrong.json()).message).toBe(deserializeError(await nobody.json()).message);
  });

  it('rate-limits failed sign-ins per handle with Retry-After', async () => {
    const { h, password } = await signUp();
    for (let i = 0; i < SIGN_IN_LIMIT.failures; i++) {
      expect((await SELF.fetch(`${BASE}/sessions`, json({ handle: h, password: 'wrong password!' }, { 'cf-connecting-ip': `10.0.0.${i}` }))).status).toBe(401);
    }
    const limited = await SELF.fetch(`${BASE}/sessions`, json({ handle: h, password }, { 'cf-connecting-ip': '10.0.1.1' }));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(deserializeError(await limited.json()).code).toBe('rate_limited');
  });

  it('requires the CSRF token on state-changing requests made with a session', async () => {
    const { cookie, body } = await signUp();
    const without = await SELF.fetch(`${BASE}/sessions/current`, { method: 'DELETE', headers: { cookie } });
    expect(without.status).toBe(403);
    expect(deserializeError(await without.json()).message).toMatch(/CSRF token in x-csrf-token/);
    const forged = await SELF.fetch(`${BASE}/sessions/current`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': '0'.repeat(32) } });
    expect(forged.status).toBe(403);
    const signOut = await SELF.fetch(`${BASE}/sessions/current`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': (body as Me).csrfToken } });
    expect(signOut.status).toBe(204);
    expect((await SELF.fetch(`${BASE}/me`, { headers: { cookie } })).status).toBe(401);
  });

  it('answers /me without a session with 401', async () => {
    const res = await SELF.fetch(`${BASE}/me`);
    expect(res.status).toBe(401);
    expect(deserializeError(await res.json()).code).toBe('unauthorized');
  });
});
