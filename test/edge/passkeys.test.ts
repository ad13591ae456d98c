import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { deserializeError } from '../../contracts/index.ts';
import type { Me } from '../../edge/src/accounts.ts';
import { SIGN_IN_LIMIT } from '../../edge/src/auth.ts';
import type { PasskeyView } from '../../edge/src/passkeys.ts';
import { SoftwareAuthenticator, type CeremonyOverrides } from '../fixtures/webauthn-authenticator.ts';

const BASE = 'http://edge.test/api';
const ORIGIN = 'http://edge.test';
let n = 0;
const handle = () => `pk_${Date.now() % 100000}_${n++}`;

interface Session {
  readonly cookie: string;
  readonly me: Me;
}

async function signUp(): Promise<Session> {
  const res = await SELF.fetch(`${BASE}/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handle: handle(), password: 'correct horse battery', birthDate: '1990-04-02' }) });
  expect(res.status).toBe(201);
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, me: await res.json<Me>() };
}

/** A POST as the browser sends it: JSON, and with a session its cookie and CSRF token. Each test signs in from its own address, so the per-address limit of one does not reach another. */
function post(path: string, body: unknown, options: { session?: Session; ip?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cf-connecting-ip': options.ip ?? '192.0.2.1' };
  if (options.session) Object.assign(headers, { cookie: options.session.cookie, 'x-csrf-token': options.session.me.csrfToken });
  return SELF.fetch(`${BASE}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function registrationOptions(session: Session) {
  const res = await post('/passkeys/registration/options', {}, { session });
  expect(res.status).toBe(200);
  return res.json<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }>();
}

async function register(session: Session, authenticator: SoftwareAuthenticator, name?: string, overrides: CeremonyOverrides = {}): Promise<Response> {
  const { challengeId, options } = await registrationOptions(session);
  return post('/passkeys/registration', { challengeId, response: await authenticator.register(options, ORIGIN, overrides), ...(name ? { name } : {}) }, { session });
}

async function signInOptions(ip: string, forHandle?: string) {
  const res = await post('/passkeys/authentication/options', forHandle ? { handle: forHandle } : {}, { ip });
  expect(res.status).toBe(200);
  return res.json<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>();
}

/** Asks for options, answers them with the authenticator, and posts the answer; returns what was posted too, to replay. */
async function signIn(authenticator: SoftwareAuthenticator, ip: string, overrides: CeremonyOverrides = {}) {
  const { challengeId, options } = await signInOptions(ip);
  const body = { challengeId, response: await authenticator.assert(options, ORIGIN, overrides) };
  return { res: await post('/passkeys/authentication', body, { ip }), body };
}

async function refusal(res: Response, status: number): Promise<string> {
  expect(res.status).toBe(status);
  return deserializeError(await res.json()).message;
}

const count = async (sql: string, ...params: unknown[]) => (await env.DB.prepare(sql).bind(...params).first<{ n: number }>())?.n ?? 0;
const passkeyRow = (id: string) => env.DB.prepare('SELECT counter, last_used_at FROM passkeys WHERE id = ?').bind(id).first<{ counter: number; last_used_at: number | null }>();
/** Everything a passkey ceremony could write besides the sign-in failure count. */
const writes = async () => ({
  passkeys: await count('SELECT COUNT(*) AS n FROM passkeys'),
  counters: await count('SELECT COALESCE(SUM(counter), 0) AS n FROM passkeys'),
  usedChallenges: await count('SELECT COUNT(*) AS n FROM webauthn_challenges WHERE used_at IS NOT NULL'),
  sessions: await count('SELECT COUNT(*) AS n FROM sessions'),
});

/** A signed-up account with one registered passkey. */
async function accountWithPasskey() {
  const session = await signUp();
  const authenticator = await SoftwareAuthenticator.create();
  expect((await register(session, authenticator)).status).toBe(201);
  return { session, authenticator };
}

describe('passkeys', () => {
  it('registers a passkey, then signs in with it: the new session cookie answers /me', async () => {
    const session = await signUp();
    const { challengeId, options } = await registrationOptions(session);
    expect(options.rp).toEqual({ id: 'edge.test', name: 'Zoetrope (local)' });
    expect(options.user.name).toBe(session.me.handle);
    expect(options.authenticatorSelection).toMatchObject({ residentKey: 'preferred', userVerification: 'preferred' });
    expect(options.pubKeyCredParams.map((p) => p.alg)).toContain(-7);
    expect(options.excludeCredentials).toEqual([]);

    const authenticator = await SoftwareAuthenticator.create();
    const registered = await post('/passkeys/registration', { challengeId, response: await authenticator.register(options, ORIGIN), name: 'Laptop' }, { session });
    expect(registered.status).toBe(201);
    const passkey = await registered.json<PasskeyView>();
    expect(passkey).toMatchObject({ id: authenticator.id, name: 'Laptop', deviceType: 'singleDevice', backedUp: false, transports: ['internal'], lastUsedAt: null });
    // Registering again is offered with this passkey excluded, so the authenticator does not make a second one.
    expect((await registrationOptions(session)).options.excludeCredentials).toEqual([{ id: authenticator.id, type: 'public-key', transports: ['internal'] }]);

    const ip = '192.0.2.10';
    expect((await signInOptions(ip)).options.allowCredentials).toEqual([]);
    expect((await signInOptions(ip, session.me.handle)).options.allowCredentials).toEqual([{ id: authenticator.id, type: 'public-key', transports: ['internal'] }]);
    expect((await signInOptions(ip, handle())).options.allowCredentials).toEqual([]);

    const { res } = await signIn(authenticator, ip);
    expect(res.status).toBe(200);
    const me = await res.json<Me>();
    expect(me).toMatchObject({ id: session.me.id, handle: session.me.handle, isTeen: false });
    expect(me.csrfToken).toMatch(/^[0-9a-f]{32}$/);
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(res.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect(cookie).not.toBe(session.cookie);
    const meRes = await SELF.fetch(`${BASE}/me`, { headers: { cookie } });
    expect(meRes.status).toBe(200);
    expect(await meRes.json<Me>()).toEqual(me);
    expect(await passkeyRow(authenticator.id)).toMatchObject({ counter: 1, last_used_at: expect.any(Number) });
  });

  it('refuses a replayed sign-in, and a challenge that is unknown, expired or for registering, writing nothing', async () => {
    const { session, authenticator } = await accountWithPasskey();
    const ip = '192.0.2.20';
    const first = await signIn(authenticator, ip);
    expect(first.res.status).toBe(200);

    const before = await writes();
    expect(await refusal(await post('/passkeys/authentication', first.body, { ip }), 401)).toMatch(/passkey sign-in refused: the challenge was already used/);
    const unknown = { ...first.body, challengeId: crypto.randomUUID() };
    expect(await refusal(await post('/passkeys/authentication', unknown, { ip }), 401)).toMatch(/the challenge is unknown/);

    const late = await signInOptions(ip);
    await env.DB.prepare('UPDATE webauthn_challenges SET created_at = created_at - 301, expires_at = expires_at - 301 WHERE id = ?').bind(late.challengeId).run();
    const expired = await post('/passkeys/authentication', { challengeId: late.challengeId, response: await authenticator.assert(late.options, ORIGIN) }, { ip });
    expect(await refusal(expired, 401)).toMatch(/the challenge has expired \(challenges last 5 minutes\)/);

    const forRegistering = await registrationOptions(session);
    const misused = await post('/passkeys/authentication', { challengeId: forRegistering.challengeId, response: await authenticator.assert({ challenge: forRegistering.options.challenge, rpId: 'edge.test' }, ORIGIN) }, { ip });
    expect(await refusal(misused, 401)).toMatch(/the challenge was issued to register a passkey, not to sign in/);
    expect(await writes()).toEqual(before);

    // A registration answer replayed is refused the same way, and stores nothing more.
    const other = await SoftwareAuthenticator.create();
    const { challengeId, options } = await registrationOptions(session);
    const body = { challengeId, response: await other.register(options, ORIGIN) };
    expect((await post('/passkeys/registration', body, { session })).status).toBe(201);
    const afterRegistering = await writes();
    expect(await refusal(await post('/passkeys/registration', body, { session }), 400)).toMatch(/passkey\.challengeId was already used/);
    // Another account cannot use your registration challenge.
    expect(await refusal(await post('/passkeys/registration', { ...body, challengeId: (await registrationOptions(session)).challengeId }, { session: await signUp() }), 400)).toMatch(/passkey\.challengeId is unknown/);
    expect((await writes()).passkeys).toBe(afterRegistering.passkeys);
  });

  it('refuses an answer made for another origin, registering or signing in, and leaves the challenge usable', async () => {
    const session = await signUp();
    const authenticator = await SoftwareAuthenticator.create();
    const before = await writes();
    const phished = await register(session, authenticator, undefined, { origin: 'https://evil.example' });
    expect(await refusal(phished, 400)).toMatch(/passkey\.response was refused: Unexpected registration response origin "https:\/\/evil\.example", expected "http:\/\/edge\.test"/);
    expect(await writes()).toEqual(before);
    expect((await register(session, authenticator)).status).toBe(201);

    const ip = '192.0.2.30';
    const { challengeId, options } = await signInOptions(ip);
    const elsewhere = await post('/passkeys/authentication', { challengeId, response: await authenticator.assert(options, ORIGIN, { origin: 'https://evil.example' }) }, { ip });
    expect(await refusal(elsewhere, 401)).toMatch(/passkey sign-in refused: Unexpected authentication response origin "https:\/\/evil\.example"/);
    expect(await passkeyRow(authenticator.id)).toEqual({ counter: 0, last_used_at: null });
    // Nothing was written, so the same challenge still signs in once answered from the right origin.
    expect((await post('/passkeys/authentication', { challengeId, response: await authenticator.assert(options, ORIGIN) }, { ip })).status).toBe(200);
  });

  it("refuses a signature from another key, an unknown passkey, and another account's user handle", async () => {
    const { authenticator } = await accountWithPasskey();
    const ip = '192.0.2.40';
    const before = await writes();
    const impostor = await SoftwareAuthenticator.create({ credentialId: authenticator.credentialId });
    impostor.userHandle = authenticator.userHandle;
    expect(await refusal((await signIn(impostor, ip)).res, 401)).toMatch(/passkey sign-in refused: the signature does not verify with this passkey's public key/);
    expect(await refusal((await signIn(await SoftwareAuthenticator.create(), ip)).res, 401)).toMatch(/this passkey is not registered here/);
    const someoneElse = btoa((await signUp()).me.id).replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '');
    expect(await refusal((await signIn(authenticator, ip, { userHandle: someoneElse })).res, 401)).toMatch(/answered for a different account/);
    expect(await writes()).toEqual({ ...before, sessions: before.sessions + 1 /* the sign-up above */ });
    expect(await passkeyRow(authenticator.id)).toEqual({ counter: 0, last_used_at: null });
  });

  it('refuses a signature counter that goes backwards, as a possibly cloned authenticator', async () => {
    const { authenticator } = await accountWithPasskey();
    const ip = '192.0.2.50';
    expect((await signIn(authenticator, ip, { signCount: 5 })).res.status).toBe(200);
    const before = await writes();
    const clone = await signIn(authenticator, ip, { signCount: 3 });
    expect(await refusal(clone.res, 401)).toMatch(/signature counter did not move forward \(3 after 5\): it may have been cloned/);
    expect(await refusal((await signIn(authenticator, ip, { signCount: 5 })).res, 401)).toMatch(/\(5 after 5\)/);
    expect(await writes()).toEqual(before);
    expect((await passkeyRow(authenticator.id))?.counter).toBe(5);
    expect((await signIn(authenticator, ip, { signCount: 6 })).res.status).toBe(200);
  });

  it('rate-limits failed passkey sign-ins per client address with the sign-in limiter', async () => {
    const { authenticator } = await accountWithPasskey();
    const ip = '192.0.2.60';
    const stranger = await SoftwareAuthenticator.create();
    for (let i = 0; i < SIGN_IN_LIMIT.failures; i++) expect((await signIn(stranger, ip)).res.status).toBe(401);
    const limited = await post('/passkeys/authentication/options', {}, { ip });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // The same passkey signs in from another address.
    expect((await signIn(authenticator, '192.0.2.61')).res.status).toBe(200);
  });

  it("lists and removes your own passkeys; someone else's is not found, and signed out is 401", async () => {
    const owner = await signUp();
    const laptop = await SoftwareAuthenticator.create();
    const phone = await SoftwareAuthenticator.create({ backedUp: true });
    expect((await register(owner, laptop, 'Laptop')).status).toBe(201);
    expect((await register(owner, phone)).status).toBe(201);
    const list = async (session: Session) => (await SELF.fetch(`${BASE}/passkeys`, { headers: { cookie: session.cookie } })).json<{ passkeys: PasskeyView[] }>();
    const listed = (await list(owner)).passkeys;
    expect(listed.map((p) => [p.id, p.name, p.deviceType, p.backedUp]).sort()).toEqual(
      [
        [laptop.id, 'Laptop', 'singleDevice', false],
        [phone.id, 'Passkey', 'multiDevice', true],
      ].sort(),
    );

    const remove = (id: string, session?: Session, csrf = true) =>
      SELF.fetch(`${BASE}/passkeys/${id}`, { method: 'DELETE', headers: session ? { cookie: session.cookie, ...(csrf ? { 'x-csrf-token': session.me.csrfToken } : {}) } : {} });
    const intruder = await signUp();
    expect((await list(intruder)).passkeys).toEqual([]);
    const notFound = await remove(laptop.id, intruder);
    expect(notFound.status).toBe(404);
    expect(deserializeError(await notFound.json())).toMatchObject({ code: 'not_found', resource: 'passkey', id: laptop.id });
    expect(await refusal(await remove(laptop.id), 401)).toMatch(/sign in/);
    expect((await SELF.fetch(`${BASE}/passkeys`)).status).toBe(401);
    expect((await post('/passkeys/registration/options', {})).status).toBe(401);
    expect(await refusal(await remove(laptop.id, owner, false), 403)).toMatch(/CSRF/);
    expect((await list(owner)).passkeys).toHaveLength(2);

    expect((await remove(laptop.id, owner)).status).toBe(204);
    expect((await list(owner)).passkeys.map((p) => p.id)).toEqual([phone.id]);
    expect((await remove(laptop.id, owner)).status).toBe(404);
    expect(await refusal((await signIn(laptop, '192.0.2.70')).res, 401)).toMatch(/this passkey is not registered here/);
    expect((await signIn(phone, '192.0.2.70')).res.status).toBe(200);
  });

  it('refuses malformed JSON and bad fields with 400 naming them, writing nothing', async () => {
    const { session, authenticator } = await accountWithPasskey();
    const ip = '192.0.2.80';
    const failures = () => count('SELECT COUNT(*) AS n FROM sign_in_failures');
    const before = { ...(await writes()), failures: await failures() };
    expect(await refusal(await post('/passkeys/registration', '{"challengeId": ', { session }), 400)).toMatch(/^passkey is not valid JSON/);
    expect(await refusal(await post('/passkeys/authentication', '{"challengeId": ', { ip }), 400)).toMatch(/^passkeySignIn is not valid JSON/);
    expect(await refusal(await post('/passkeys/authentication/options', '[', { ip }), 400)).toMatch(/^passkeyOptions is not valid JSON/);
    const { challengeId, options } = await signInOptions(ip);
    const response = await authenticator.assert(options, ORIGIN);
    expect(await refusal(await post('/passkeys/authentication', { challengeId, response: { ...response, response: { ...response.response, signature: 'not base64url!' } } }, { ip }), 400)).toMatch(/passkeySignIn\.response\.response\.signature must be base64url/);
    expect(await refusal(await post('/passkeys/authentication', { challengeId, response, extra: 1 }, { ip }), 400)).toMatch(/passkeySignIn has unknown field extra/);
    expect(await refusal(await post('/passkeys/registration', { challengeId: 'nope', name: '' }, { session }), 400)).toMatch(/passkey\.challengeId must be the challengeId the options came with.*passkey\.response/);
    expect({ ...(await writes()), failures: await failures() }).toEqual(before);
    // The challenge survived all that.
    expect((await post('/passkeys/authentication', { challengeId, response }, { ip })).status).toBe(200);
  });
});
