import { Hono } from 'hono';
import { exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK } from 'jose';
import { CONSENT_TOKEN_MAX_LIFETIME_S, ConsentError, signConsentToken, UnsupportedError, ValidationError, verifyConsentToken, type ConsentClaims, type ConsentScope } from '../../contracts/index.ts';
import type { AuthEnv } from './auth.ts';

/**
 * The instance's consent-token keys: one active Ed25519 key (made on first use), rotation that keeps
 * the retired key published for the longest token lifetime, the JWKS other instances verify with,
 * and the revocation status of a token by its jti.
 */
interface KeyRow {
  kid: string;
  public_jwk: string;
  private_jwk: string;
  created_at: number;
  retired_at: number | null;
}

const nowS = () => Math.floor(Date.now() / 1000);

async function createKey(db: D1Database, now: number): Promise<KeyRow> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const kid = `k${now.toString(36)}${crypto.randomUUID().slice(0, 8)}`;
  const row: KeyRow = { kid, public_jwk: JSON.stringify({ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' }), private_jwk: JSON.stringify(await exportJWK(privateKey)), created_at: now, retired_at: null };
  await db.prepare('INSERT INTO signing_keys (kid, public_jwk, private_jwk, created_at, retired_at) VALUES (?, ?, ?, ?, NULL)').bind(row.kid, row.public_jwk, row.private_jwk, row.created_at).run();
  return row;
}

export async function activeKey(db: D1Database, now = nowS()): Promise<KeyRow> {
  const row = await db.prepare('SELECT * FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1').first<KeyRow>();
  return row ?? createKey(db, now);
}

/** Retires the active key and makes a new one; tokens the old key signed keep verifying until they expire. */
export async function rotateKey(db: D1Database, now = nowS()): Promise<{ retired: string | null; active: string }> {
  const current = await db.prepare('SELECT kid FROM signing_keys WHERE retired_at IS NULL').all<{ kid: string }>();
  await db.prepare('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL').bind(now).run();
  const fresh = await createKey(db, now);
  return { retired: current.results[0]?.kid ?? null, active: fresh.kid };
}

/** Public keys: the active one, and those retired less than the longest token lifetime ago. */
export async function jwks(db: D1Database, now = nowS()): Promise<JSONWebKeySet> {
  await activeKey(db, now);
  const rows = await db.prepare('SELECT public_jwk FROM signing_keys WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at DESC').bind(now - CONSENT_TOKEN_MAX_LIFETIME_S).all<{ public_jwk: string }>();
  return { keys: rows.results.map((r) => JSON.parse(r.public_jwk) as JWK) };
}

export async function issueConsentToken(db: D1Database, claims: ConsentClaims): Promise<string> {
  const key = await activeKey(db);
  return signConsentToken(claims, (await importJWK(JSON.parse(key.private_jwk) as JWK, 'EdDSA')) as CryptoKey, key.kid);
}

export async function revokeConsent(db: D1Database, jti: string, now = nowS()): Promise<void> {
  await db.prepare('INSERT INTO consent_revocations (jti, revoked_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING').bind(jti, now).run();
}

export async function isRevoked(db: D1Database, jti: string): Promise<boolean> {
  return (await db.prepare('SELECT 1 AS r FROM consent_revocations WHERE jti = ?').bind(jti).first()) !== null;
}

export const wellKnown = new Hono<AuthEnv>().get('/jwks.json', async (c) => {
  c.header('Cache-Control', 'public, max-age=300');
  return c.json(await jwks(c.env.DB));
});

const JTI = /^[A-Za-z0-9_-]{16,64}$/;
export const consentStatus = new Hono<AuthEnv>().get('/status/:jti', async (c) => {
  const jti = c.req.param('jti');
  if (!JTI.test(jti)) throw new ValidationError([{ field: 'consent.jti', message: 'must be 16–64 URL-safe characters' }]);
  c.header('Cache-Control', 'no-store');
  return c.json({ jti, revoked: await isRevoked(c.env.DB, jti) });
});

/** The `iss` a token claims, unverified: to say plainly where a token this instance cannot verify comes from. */
export function claimedIssuer(token: string): string | undefined {
  try {
    const iss = (JSON.parse(atob(token.split('.')[1]!.replaceAll('-', '+').replaceAll('_', '/'))) as { iss?: unknown }).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A consent token presented for a cameo: signed by this instance (its JWKS), meant for `audience`,
 * for `cameoId`, with `scope`, unexpired and not revoked. A null audience or scope accepts any: the
 * token is shown on its own (to fetch the cameo's appearance), and the caller decides who may use it.
 * Tokens from other instances are refused until federation verifies them against their issuer.
 */
export async function checkConsent(db: D1Database, token: string, expect: { origin: string; audience: string | null; cameoId: string; scope: ConsentScope | null }): Promise<ConsentClaims> {
  const claims = await verifyConsentToken(token, await jwks(db), { audience: expect.audience, scope: expect.scope, issuer: expect.origin }).catch(async (error: unknown) => {
    // A token another instance issued: say so plainly rather than "bad signature".
    if (error instanceof ConsentError && (error.reason === 'unknown_key' || error.reason === 'malformed')) {
      const iss = claimedIssuer(token);
      if (iss !== undefined && iss !== expect.origin) throw new UnsupportedError({ feature: `cameo consent issued by another instance (${iss}) before federation` });
    }
    throw error;
  });
  if (claims.sub !== expect.cameoId) throw new ConsentError({ reason: 'wrong_scope' }, `consent token refused: it is for cameo ${claims.sub}, not ${expect.cameoId}`);
  if (await isRevoked(db, claims.jti)) throw new ConsentError({ reason: 'revoked' });
  return claims;
}
