import { generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';
import { isoBase64URL, parseAuthenticatorData } from '@simplewebauthn/server/helpers';
import { Hono } from 'hono';
import { z } from 'zod';
import { ConflictError, NotFoundError, UnauthorizedError, ValidationError, ZoetropeError } from '../../contracts/index.ts';
import { clientKey, me } from './accounts.ts';
import { checkSignInLimit, recordSignInFailure, requireUser, startSession, type AuthEnv } from './auth.ts';
import { parseJsonBody } from './request-body.ts';

/**
 * Passkeys (WebAuthn): a signed-in person registers one, then signs in with it instead of a
 * password. The relying party is whatever host the instance answers on (its rpID is the request's
 * host name, its origin the request's origin), so any self-hosted instance works without setup.
 * Challenges live server-side, expire after 5 minutes and are used once; every refusal names its
 * reason and changes nothing but the sign-in failure count.
 */
export const CHALLENGE_TTL_S = 300;
/** Used and expired challenges are kept this long, so a refusal can say "used" or "expired" rather than "unknown". */
const CHALLENGE_KEEP_S = 3600;

const BASE64URL = z.string().min(1).max(16_384).regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');
const CHALLENGE_ID = z.string().regex(/^[0-9a-f-]{36}$/, 'must be the challengeId the options came with');
// The inner WebAuthn objects are not strict: browsers' toJSON() adds fields (publicKey,
// publicKeyAlgorithm, …) that we do not use, and which are dropped here.
const RegistrationResponseSchema = z.object({
  id: BASE64URL,
  rawId: BASE64URL,
  type: z.literal('public-key'),
  response: z.object({ clientDataJSON: BASE64URL, attestationObject: BASE64URL, transports: z.array(z.string().max(32)).max(16).optional() }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.object({}).optional(),
});
const AuthenticationResponseSchema = z.object({
  id: BASE64URL,
  rawId: BASE64URL,
  type: z.literal('public-key'),
  response: z.object({ clientDataJSON: BASE64URL, authenticatorData: BASE64URL, signature: BASE64URL, userHandle: BASE64URL.optional() }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.object({}).optional(),
});

export const PasskeyRegistrationSchema = z.strictObject({ challengeId: CHALLENGE_ID, response: RegistrationResponseSchema, name: z.string().trim().min(1).max(60).optional() });
export const PasskeyAuthenticationOptionsSchema = z.strictObject({ handle: z.string().regex(/^[a-zA-Z0-9_]{3,30}$/, 'must be a handle').optional() });
export const PasskeyAuthenticationSchema = z.strictObject({ challengeId: CHALLENGE_ID, response: AuthenticationResponseSchema });

interface PasskeyRow {
  id: string;
  user_id: string;
  public_key: string;
  counter: number;
  transports_json: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: number;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

export interface PasskeyView {
  /** The credential id (base64url). */
  readonly id: string;
  readonly name: string;
  /** 'multiDevice' passkeys sync between a person's devices; 'singleDevice' ones live on one authenticator. */
  readonly deviceType: 'singleDevice' | 'multiDevice';
  readonly backedUp: boolean;
  readonly transports: readonly string[];
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
}

const nowS = () => Math.floor(Date.now() / 1000);

const view = (row: PasskeyRow): PasskeyView => ({
  id: row.id,
  name: row.name,
  deviceType: row.device_type,
  backedUp: row.backed_up === 1,
  transports: JSON.parse(row.transports_json) as string[],
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

/** This instance as a WebAuthn relying party: whatever host it is reached on. */
function relyingParty(url: string): { rpID: string; origin: string } {
  const { hostname, origin } = new URL(url);
  return { rpID: hostname, origin };
}

async function passkeysOf(db: D1Database, userId: string): Promise<PasskeyRow[]> {
  return (await db.prepare('SELECT * FROM passkeys WHERE user_id = ? ORDER BY created_at, id').bind(userId).all<PasskeyRow>()).results;
}

async function storeChallenge(db: D1Database, challenge: string, purpose: 'register' | 'authenticate', userId: string | null, now: number): Promise<string> {
  const id = crypto.randomUUID();
  await db.batch([
    db.prepare('DELETE FROM webauthn_challenges WHERE expires_at < ?').bind(now - CHALLENGE_KEEP_S),
    db.prepare('INSERT INTO webauthn_challenges (id, challenge, purpose, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)').bind(id, challenge, purpose, userId, now, now + CHALLENGE_TTL_S),
  ]);
  return id;
}

/** The challenge a pending ceremony answers, or why it may not be used. Reads only: it is consumed with the write that completes the ceremony. */
async function pendingChallenge(db: D1Database, id: string, purpose: 'register' | 'authenticate', userId: string | null, now: number): Promise<{ challenge: string } | { problem: string }> {
  const row = await db
    .prepare('SELECT challenge, purpose, user_id, expires_at, used_at FROM webauthn_challenges WHERE id = ?')
    .bind(id)
    .first<{ challenge: string; purpose: string; user_id: string | null; expires_at: number; used_at: number | null }>();
  // Someone else's registration challenge is as unknown to you as one that never existed.
  if (!row || (purpose === 'register' && row.user_id !== userId)) return { problem: 'is unknown: ask for new options' };
  if (row.purpose !== purpose) return { problem: `was issued to ${row.purpose === 'register' ? 'register a passkey' : 'sign in'}, not to ${purpose === 'register' ? 'register a passkey' : 'sign in'}` };
  if (row.used_at !== null) return { problem: 'was already used: each challenge is good for one try at most, ask for new options' };
  if (row.expires_at <= now) return { problem: `has expired (challenges last ${CHALLENGE_TTL_S / 60} minutes): ask for new options` };
  return { challenge: row.challenge };
}

const consumeChallenge = (db: D1Database, id: string, now: number) => db.prepare('UPDATE webauthn_challenges SET used_at = ?1 WHERE id = ?2 AND used_at IS NULL AND expires_at > ?1').bind(now, id);

const signInRefused = (why: string) => new UnauthorizedError(`passkey sign-in refused: ${why}`);

/**
 * Checks a sign-in assertion and, only when it holds, consumes its challenge and moves the
 * passkey's counter forward. Returns the account it signs in to.
 */
async function verifySignIn(db: D1Database, body: z.output<typeof PasskeyAuthenticationSchema>, rp: { rpID: string; origin: string }, now: number): Promise<string> {
  const pending = await pendingChallenge(db, body.challengeId, 'authenticate', null, now);
  if ('problem' in pending) throw signInRefused(`the challenge ${pending.problem}`);
  const row = await db.prepare('SELECT * FROM passkeys WHERE id = ?').bind(body.response.id).first<PasskeyRow>();
  if (!row) throw signInRefused('this passkey is not registered here (it may have been removed)');
  const { userHandle } = body.response.response;
  if (userHandle !== undefined && isoBase64URL.toUTF8String(userHandle) !== row.user_id) throw signInRefused('the passkey answered for a different account than the one it is registered to');
  let verified: boolean;
  let backedUp: boolean;
  let counter: number;
  try {
    // The library refuses a stale counter too, but only as "lower than expected"; naming a possible
    // clone tells the person what to do (remove that passkey).
    counter = parseAuthenticatorData(isoBase64URL.toBuffer(body.response.response.authenticatorData)).counter;
    if ((counter > 0 || row.counter > 0) && counter <= row.counter) {
      throw signInRefused(`the authenticator's signature counter did not move forward (${counter} after ${row.counter}): it may have been cloned`);
    }
    const result = await verifyAuthenticationResponse({
      response: { ...body.response, clientExtensionResults: {} },
      expectedChallenge: pending.challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      credential: { id: row.id, publicKey: isoBase64URL.toBuffer(row.public_key), counter: row.counter, transports: JSON.parse(row.transports_json) as string[] },
      // The options asked for user verification as 'preferred': a passkey without it still proves possession.
      requireUserVerification: false,
    });
    verified = result.verified;
    backedUp = result.authenticationInfo.credentialBackedUp;
  } catch (error) {
    if (error instanceof ZoetropeError) throw error;
    throw signInRefused((error as Error).message);
  }
  if (!verified) throw signInRefused("the signature does not verify with this passkey's public key");
  // Checked above already; the conditions repeat here so that two sign-ins racing with one challenge
  // (or one counter value) cannot both succeed.
  const [consumed, counted] = await db.batch([
    consumeChallenge(db, body.challengeId, now),
    db.prepare('UPDATE passkeys SET counter = ?1, backed_up = ?2, last_used_at = ?3 WHERE id = ?4 AND (counter < ?1 OR (?1 = 0 AND counter = 0))').bind(counter, backedUp ? 1 : 0, now, row.id),
  ]);
  if (consumed?.meta.changes !== 1) throw signInRefused('the challenge was already used: ask for new options');
  if (counted?.meta.changes !== 1) throw signInRefused("the authenticator's signature counter did not move forward: it may have been cloned");
  return row.user_id;
}

export const passkeys = new Hono<AuthEnv>()
  .get('/', async (c) => {
    const user = requireUser(c);
    c.header('Cache-Control', 'no-store');
    return c.json({ passkeys: (await passkeysOf(c.env.DB, user.id)).map(view) });
  })
  .post('/registration/options', async (c) => {
    const user = requireUser(c);
    const { rpID } = relyingParty(c.req.url);
    const existing = await passkeysOf(c.env.DB, user.id);
    const options = await generateRegistrationOptions({
      rpName: c.env.INSTANCE_NAME,
      rpID,
      userName: user.handle,
      userDisplayName: user.handle,
      // The user handle an authenticator returns at sign-in: the account id, checked against the passkey's owner.
      userID: new Uint8Array(new TextEncoder().encode(user.id)),
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.id, transports: JSON.parse(p.transports_json) as string[] })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    const challengeId = await storeChallenge(c.env.DB, options.challenge, 'register', user.id, nowS());
    c.header('Cache-Control', 'no-store');
    return c.json({ challengeId, options });
  })
  .post('/registration', async (c) => {
    const user = requireUser(c);
    const body = await parseJsonBody(c, PasskeyRegistrationSchema, 'passkey');
    const now = nowS();
    const rp = relyingParty(c.req.url);
    const pending = await pendingChallenge(c.env.DB, body.challengeId, 'register', user.id, now);
    if ('problem' in pending) throw new ValidationError([{ field: 'passkey.challengeId', message: pending.problem }]);
    const refused = (why: string) => new ValidationError([{ field: 'passkey.response', message: `was refused: ${why}` }]);
    let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verification = await verifyRegistrationResponse({
        response: { ...body.response, clientExtensionResults: {} },
        expectedChallenge: pending.challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpID,
        requireUserVerification: false,
      });
    } catch (error) {
      throw refused((error as Error).message);
    }
    if (!verification.verified) throw refused('its attestation does not verify');
    const { credential, credentialDeviceType, credentialBackedUp } = verification.registrationInfo;
    const idBytes = isoBase64URL.toBuffer(credential.id).length;
    if (idBytes < 16 || idBytes > 1023) throw refused(`its credential id is ${idBytes} bytes, where WebAuthn allows 16–1023`);
    const db = c.env.DB;
    let inserted: D1Result | undefined;
    try {
      // One transaction: the passkey is stored only if the challenge is still unused, and using it.
      [inserted] = await db.batch([
        db
          .prepare(
            `INSERT INTO passkeys (id, user_id, public_key, counter, transports_json, device_type, backed_up, name, created_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM webauthn_challenges WHERE id = ?10 AND used_at IS NULL AND expires_at > ?9`,
          )
          .bind(
            credential.id,
            user.id,
            isoBase64URL.fromBuffer(credential.publicKey),
            credential.counter,
            JSON.stringify(credential.transports ?? []),
            credentialDeviceType,
            credentialBackedUp ? 1 : 0,
            body.name ?? 'Passkey',
            now,
            body.challengeId,
          ),
        consumeChallenge(db, body.challengeId, now),
      ]);
    } catch (error) {
      if (/UNIQUE constraint failed: passkeys\.id/.test((error as Error).message)) throw new ConflictError('this passkey is already registered');
      throw error;
    }
    if (inserted?.meta.changes !== 1) throw new ValidationError([{ field: 'passkey.challengeId', message: 'was already used: ask for new options' }]);
    const row = await db.prepare('SELECT * FROM passkeys WHERE id = ?').bind(credential.id).first<PasskeyRow>();
    return c.json(view(row!), 201);
  })
  .post('/authentication/options', async (c) => {
    const body = await parseJsonBody(c, PasskeyAuthenticationOptionsSchema, 'passkeyOptions');
    await checkSignInLimit(c.env.DB, clientKey(c));
    // Without a handle the browser offers whichever discoverable passkey the person picks; with one,
    // that account's passkeys (none for a handle that does not exist: the answer looks the same).
    const listed = body.handle
      ? (await c.env.DB.prepare('SELECT p.id, p.transports_json FROM passkeys p JOIN users u ON u.id = p.user_id WHERE u.handle = ? ORDER BY p.created_at, p.id').bind(body.handle).all<Pick<PasskeyRow, 'id' | 'transports_json'>>()).results
      : [];
    const options = await generateAuthenticationOptions({
      rpID: relyingParty(c.req.url).rpID,
      allowCredentials: listed.map((p) => ({ id: p.id, transports: JSON.parse(p.transports_json) as string[] })),
      userVerification: 'preferred',
    });
    const challengeId = await storeChallenge(c.env.DB, options.challenge, 'authenticate', null, nowS());
    c.header('Cache-Control', 'no-store');
    return c.json({ challengeId, options });
  })
  .post('/authentication', async (c) => {
    const body = await parseJsonBody(c, PasskeyAuthenticationSchema, 'passkeySignIn');
    // Per client address: a signature cannot be guessed, so a per-account limit would only let
    // strangers lock the owner out; this one stops a client from hammering the verifier.
    const key = clientKey(c);
    await checkSignInLimit(c.env.DB, key);
    let userId: string;
    try {
      userId = await verifySignIn(c.env.DB, body, relyingParty(c.req.url), nowS());
    } catch (error) {
      if (error instanceof UnauthorizedError) await recordSignInFailure(c.env.DB, key);
      throw error;
    }
    const csrf = await startSession(c, userId);
    return c.json(await me(c.env.DB, userId, csrf), 200);
  })
  .delete('/:id', async (c) => {
    const user = requireUser(c);
    const id = c.req.param('id');
    // Only your own: anyone else's passkey is "not found", like every owner route.
    const removed = await c.env.DB.prepare('DELETE FROM passkeys WHERE id = ? AND user_id = ?').bind(id, user.id).run();
    if (removed.meta.changes === 0) throw new NotFoundError({ resource: 'passkey', id });
    return c.body(null, 204);
  });
