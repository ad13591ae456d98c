import { base64 } from '@scure/base';
import { Hono } from 'hono';
import { z } from 'zod';
import {
  ConflictError,
  coseSign1Es256,
  coseSign1Fits,
  coseSign1MinimumSize,
  coseSign1ReserveSize,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  RecipeIdSchema,
  sha256Hex,
  ValidationError,
} from '../../contracts/index.ts';
import { issueSigningCertificate } from '../../contracts/c2pa-certificate.ts';
import { requireUser, type AuthEnv } from './auth.ts';
import { parseJsonBody } from './request-body.ts';

/**
 * The instance signs C2PA claims with its own key (issue 5: "signed … with the instance's key
 * through the edge API"). The engine builds a clip's manifest with c2pa-web, whose signer hands the
 * claim bytes here; the edge answers with the whole COSE_Sign1 (ES256, the instance certificate in
 * x5chain, padded to the size c2pa-web reserved), and records who asked.
 *
 * What the signature vouches for: "an account on this instance that published recipe R asked for
 * this claim", nothing more. The edge sees only the claim's bytes, not the clip, and cannot look
 * inside c2pa-web's JUMBF assertions (the claim holds their hashes, not their contents): it does not
 * check that the clip was made from R, or that the manifest's recipe assertion is R. The audit trail
 * (GET /signatures/:claimSha256) is what makes the signature accountable: anyone holding a clip can
 * ask which recipe its claim was signed for, and when.
 *
 * The identity is one ES256 key, made on first use, with a self-issued certificate
 * (contracts/c2pa-certificate.ts) reissued for the same key a week before it expires. Nobody's
 * trust list holds it; verifiers pin it from GET /certificate.
 */

/** The most claim bytes the instance signs (c2pa-web's claims are a few KiB). */
export const CLAIM_MAX_BYTES = 64 * 1024;
/** The largest space c2pa-web may ask the signature to fill. */
export const RESERVE_MAX_BYTES = 64 * 1024;
/** Signatures per person in a sliding window. */
export const SIGN_LIMIT = { signatures: 60, windowS: 3600 } as const;
export const CERTIFICATE_LIFETIME_DAYS = 365;
/** Reissue the certificate this long before it expires, so no claim is signed on its last day. */
const RENEW_BEFORE_S = 7 * 86_400;
/** The claim travels as base64 (4/3 of its size) in JSON. */
const BODY_LIMIT_BYTES = 96 * 1024;
const SLOT = 'instance';

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export const SignClaimSchema = z.strictObject({
  recipeId: RecipeIdSchema,
  /** The claim bytes c2pa-web hands its signer, base64 (RFC 4648, padded). */
  claim: z.string().min(1, 'must not be empty'),
  /** The size c2pa-web reserved for the signature: the COSE_Sign1 fills it exactly. */
  reserveSize: z.int().min(1).max(RESERVE_MAX_BYTES),
});

const CLAIM_SHA256 = /^[0-9a-f]{64}$/;

export interface InstanceCertificateView {
  /** DER, base64. */
  readonly certificate: string;
  readonly certificateSha256: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface SignedClaimView {
  /** The COSE_Sign1, base64: exactly `reserveSize` bytes. */
  readonly cose: string;
  readonly claimSha256: string;
  readonly certificateSha256: string;
  readonly signedAt: number;
}

export interface ClaimSignatureView {
  readonly claimSha256: string;
  readonly recipeId: string;
  readonly certificateSha256: string;
  readonly signedAt: number;
}

interface IdentityRow {
  public_jwk: string;
  private_jwk: string;
  certificate: ArrayBuffer | number[];
  certificate_sha256: string;
  not_before: number;
  not_after: number;
}

interface InstanceIdentity {
  readonly privateKey: CryptoKey;
  readonly certificate: Uint8Array<ArrayBuffer>;
  readonly certificateSha256: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

const nowS = () => Math.floor(Date.now() / 1000);

async function importKeys(row: Pick<IdentityRow, 'public_jwk' | 'private_jwk'>): Promise<CryptoKeyPair> {
  return {
    privateKey: await crypto.subtle.importKey('jwk', JSON.parse(row.private_jwk) as JsonWebKey, ECDSA_P256, false, ['sign']),
    publicKey: await crypto.subtle.importKey('jwk', JSON.parse(row.public_jwk) as JsonWebKey, ECDSA_P256, true, ['verify']),
  };
}

async function certify(keys: CryptoKeyPair, instanceName: string, now: number) {
  const issued = await issueSigningCertificate(keys, { commonName: instanceName || 'Zoetrope instance', lifetimeDays: CERTIFICATE_LIFETIME_DAYS }, new Date(now * 1000));
  return { der: issued.der, sha256: await sha256Hex(issued.der), notBefore: Math.floor(issued.notBefore.getTime() / 1000), notAfter: Math.floor(issued.notAfter.getTime() / 1000) };
}

const readIdentity = (db: D1Database) => db.prepare('SELECT public_jwk, private_jwk, certificate, certificate_sha256, not_before, not_after FROM c2pa_signing_identity WHERE slot = ?').bind(SLOT).first<IdentityRow>();

/**
 * The instance's signing identity: made on first use, its certificate reissued for the same key near
 * expiry. Two requests racing to make or renew it both end up with the one that was written.
 */
export async function instanceIdentity(db: D1Database, instanceName: string, now = nowS()): Promise<InstanceIdentity> {
  let row = await readIdentity(db);
  if (row && row.not_after - RENEW_BEFORE_S > now && row.not_before <= now) return identityOf(row);
  if (row) {
    // Same key, new certificate: clips signed before stay attributable to the same key.
    const cert = await certify(await importKeys(row), instanceName, now);
    await db
      .prepare('UPDATE c2pa_signing_identity SET certificate = ?, certificate_sha256 = ?, not_before = ?, not_after = ? WHERE slot = ? AND certificate_sha256 = ?')
      .bind(cert.der, cert.sha256, cert.notBefore, cert.notAfter, SLOT, row.certificate_sha256)
      .run();
  } else {
    const keys = (await crypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await certify(keys, instanceName, now);
    const [publicJwk, privateJwk] = [await crypto.subtle.exportKey('jwk', keys.publicKey), await crypto.subtle.exportKey('jwk', keys.privateKey)];
    await db
      .prepare('INSERT INTO c2pa_signing_identity (slot, public_jwk, private_jwk, certificate, certificate_sha256, created_at, not_before, not_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (slot) DO NOTHING')
      .bind(SLOT, JSON.stringify(publicJwk), JSON.stringify(privateJwk), cert.der, cert.sha256, now, cert.notBefore, cert.notAfter)
      .run();
  }
  row = await readIdentity(db);
  if (!row) throw new Error('the instance signing identity was not stored');
  return identityOf(row);
}

async function identityOf(row: IdentityRow): Promise<InstanceIdentity> {
  const { privateKey } = await importKeys(row);
  // D1 hands BLOBs back as arrays of bytes.
  return { privateKey, certificate: new Uint8Array(row.certificate), certificateSha256: row.certificate_sha256, notBefore: row.not_before, notAfter: row.not_after };
}

function decodeClaim(text: string): Uint8Array {
  let claim: Uint8Array;
  try {
    claim = base64.decode(text);
  } catch (error) {
    throw new ValidationError([{ field: 'sign.claim', message: `is not base64 (${(error as Error).message})` }]);
  }
  if (claim.length > CLAIM_MAX_BYTES) throw new PayloadTooLargeError({ limitBytes: CLAIM_MAX_BYTES }, `sign.claim is ${claim.length} bytes; the instance signs claims of at most ${CLAIM_MAX_BYTES}`);
  return claim;
}

function checkReserve(certificate: Uint8Array, reserveSize: number): void {
  if (coseSign1Fits([certificate], reserveSize)) return;
  const minimum = coseSign1MinimumSize([certificate]);
  const problem = reserveSize < minimum ? `is too small for this instance's signature (at least ${minimum} bytes)` : `cannot be filled exactly by this instance's signature`;
  throw new ValidationError([{ field: 'sign.reserveSize', message: `${problem}: reserve ${coseSign1ReserveSize([certificate])} bytes (the certificate from GET /api/provenance/certificate, plus 576)` }]);
}

/** Refuses a claim already signed for another person or recipe, and a person over the rate limit. */
async function assertMaySign(db: D1Database, claimSha256: string, userId: string, recipeId: string, now: number): Promise<void> {
  const earlier = await db.prepare('SELECT user_id, recipe_id FROM c2pa_signatures WHERE claim_sha256 = ? ORDER BY signed_at LIMIT 1').bind(claimSha256).first<{ user_id: string | null; recipe_id: string }>();
  if (earlier && (earlier.user_id !== userId || earlier.recipe_id !== recipeId)) throw new ConflictError('this claim was already signed here for another recipe or account');
  const recent = await db
    .prepare('SELECT COUNT(*) AS n, MIN(signed_at) AS oldest FROM c2pa_signatures WHERE user_id = ? AND signed_at > ?')
    .bind(userId, now - SIGN_LIMIT.windowS)
    .first<{ n: number; oldest: number | null }>();
  if ((recent?.n ?? 0) >= SIGN_LIMIT.signatures) {
    const retryAfterS = Math.max(1, (recent?.oldest ?? now) + SIGN_LIMIT.windowS - now);
    throw new RateLimitedError({ retryAfterS }, `you have had ${SIGN_LIMIT.signatures} claims signed in the last hour: try again in ${retryAfterS} s`);
  }
}

const certificateView = (identity: InstanceIdentity): InstanceCertificateView => ({
  certificate: base64.encode(identity.certificate),
  certificateSha256: identity.certificateSha256,
  notBefore: identity.notBefore,
  notAfter: identity.notAfter,
});

export const provenance = new Hono<AuthEnv>()
  .post('/sign', async (c) => {
    const user = requireUser(c);
    const body = await parseJsonBody(c, SignClaimSchema, 'sign', BODY_LIMIT_BYTES);
    const claim = decodeClaim(body.claim);
    const db = c.env.DB;
    const mine = await db.prepare('SELECT 1 FROM recipe_publications WHERE recipe_id = ? AND user_id = ?').bind(body.recipeId, user.id).first();
    if (!mine) throw new NotFoundError({ resource: 'your publication of recipe', id: body.recipeId });
    const identity = await instanceIdentity(db, c.env.INSTANCE_NAME);
    checkReserve(identity.certificate, body.reserveSize);
    const claimSha256 = await sha256Hex(claim);
    const now = nowS();
    await assertMaySign(db, claimSha256, user.id, body.recipeId, now);
    const cose = await coseSign1Es256(claim, { certificates: [identity.certificate], sign: async (data) => new Uint8Array(await crypto.subtle.sign(ES256, identity.privateKey, data)) }, body.reserveSize);
    // The limit again, in the same statement as the write, so racing requests cannot pass it together.
    const recorded = await db
      .prepare(
        `INSERT INTO c2pa_signatures (claim_sha256, user_id, recipe_id, certificate_sha256, signed_at)
         SELECT ?1, ?2, ?3, ?4, ?5
         WHERE (SELECT COUNT(*) FROM c2pa_signatures WHERE user_id = ?2 AND signed_at > ?5 - ?6) < ?7
           AND NOT EXISTS (SELECT 1 FROM c2pa_signatures WHERE claim_sha256 = ?1 AND (user_id IS NOT ?2 OR recipe_id <> ?3))`,
      )
      .bind(claimSha256, user.id, body.recipeId, identity.certificateSha256, now, SIGN_LIMIT.windowS, SIGN_LIMIT.signatures)
      .run();
    if (recorded.meta.changes !== 1) {
      await assertMaySign(db, claimSha256, user.id, body.recipeId, now);
      throw new RateLimitedError({ retryAfterS: SIGN_LIMIT.windowS });
    }
    c.header('Cache-Control', 'no-store');
    return c.json({ cose: base64.encode(cose), claimSha256, certificateSha256: identity.certificateSha256, signedAt: now } satisfies SignedClaimView);
  })
  .get('/certificate', async (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(certificateView(await instanceIdentity(c.env.DB, c.env.INSTANCE_NAME)));
  })
  .get('/signatures/:claimSha256', async (c) => {
    const claimSha256 = c.req.param('claimSha256');
    if (!CLAIM_SHA256.test(claimSha256)) throw new ValidationError([{ field: 'claimSha256', message: 'must be a sha256 (64 lowercase hex digits)' }]);
    const row = await c.env.DB.prepare('SELECT recipe_id, certificate_sha256, signed_at FROM c2pa_signatures WHERE claim_sha256 = ? ORDER BY signed_at LIMIT 1')
      .bind(claimSha256)
      .first<{ recipe_id: string; certificate_sha256: string; signed_at: number }>();
    if (!row) throw new NotFoundError({ resource: 'signature of claim', id: claimSha256 }, `this instance has not signed the claim ${claimSha256}`);
    c.header('Cache-Control', 'public, max-age=60');
    return c.json({ claimSha256, recipeId: row.recipe_id, certificateSha256: row.certificate_sha256, signedAt: row.signed_at } satisfies ClaimSignatureView);
  });
