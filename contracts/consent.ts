import { errors as joseErrors, createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { ConsentError, type ConsentFailure } from './errors.ts';
import { parseOrThrow } from './validation.ts';

/**
 * Cameo consent tokens: an EdDSA (Ed25519) JWS issued by the cameo owner's instance. Any instance
 * verifies one offline against the issuer's `/.well-known/jwks.json`, and must still ask the
 * issuer's revocation status endpoint before rendering or showing a video that uses the cameo.
 */
export const CONSENT_TOKEN_TYPE = 'zoetrope-consent+jwt';
export const CONSENT_SCOPES = ['generate', 'remix'] as const;
export type ConsentScope = (typeof CONSENT_SCOPES)[number];
/** Short-lived by design: revocation elsewhere takes effect within this bound. */
export const CONSENT_TOKEN_MAX_LIFETIME_S = 12 * 60 * 60;
/** `aud` of a token the owner made usable by anyone (audience setting "everyone"). */
export const ANY_AUDIENCE = '*';
/**
 * The request header a consent token travels in when it is shown on its own, to fetch the cameo's
 * appearance: never a credential by itself, so `Authorization` stays free for who is asking (a
 * render node's `Bearer` token; a person's session is their cookie).
 */
export const CONSENT_HEADER = 'Zoetrope-Consent';

export const ConsentClaimsSchema = z
  .strictObject({
    iss: z.url({ protocol: /^https?$/, error: 'must be the issuing instance URL' }),
    sub: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be a cameo id'),
    aud: z.string().min(1).max(300),
    scope: z.array(z.enum(CONSENT_SCOPES)).min(1, 'must grant at least one scope'),
    iat: z.int().min(0),
    nbf: z.int().min(0).optional(),
    exp: z.int().min(0),
    jti: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be 16–64 URL-safe characters'),
    /** The owner's plain-language restrictions, which travel with every grant. */
    restrictions: z.string().max(500).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.exp <= c.iat) ctx.addIssue({ code: 'custom', path: ['exp'], message: 'must be after iat' });
    if (c.exp - c.iat > CONSENT_TOKEN_MAX_LIFETIME_S) {
      ctx.addIssue({ code: 'custom', path: ['exp'], message: `must be at most ${CONSENT_TOKEN_MAX_LIFETIME_S / 3600} hours after iat` });
    }
    if (new Set(c.scope).size !== c.scope.length) ctx.addIssue({ code: 'custom', path: ['scope'], message: 'lists a scope twice' });
  });

export type ConsentClaims = z.output<typeof ConsentClaimsSchema>;

export function parseConsentClaims(value: unknown): ConsentClaims {
  return parseOrThrow(ConsentClaimsSchema, value, 'consent');
}

/** Signs validated claims with the instance's Ed25519 private key. */
export async function signConsentToken(claims: ConsentClaims, privateKey: CryptoKey, kid: string): Promise<string> {
  const valid = parseConsentClaims(claims);
  return new SignJWT({ ...valid }).setProtectedHeader({ alg: 'EdDSA', typ: CONSENT_TOKEN_TYPE, kid }).sign(privateKey);
}

export interface ConsentExpectation {
  /**
   * Who wants to use the cameo: must equal the token's `aud`, unless that is `*`. Null accepts any
   * audience, for a caller that decides itself who may use the token (the cameo's appearance goes to
   * its grantee, its owner, or a render node rendering a recipe that carries it).
   */
  readonly audience: string | null;
  /** The use the token must grant; null accepts any (each scope lets its holder draw the cameo). */
  readonly scope: ConsentScope | null;
  /** The instance the token must come from, when known. */
  readonly issuer?: string;
  readonly now?: Date;
}

function failure(error: unknown): ConsentFailure {
  if (error instanceof ConsentError) return error.reason;
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return error.claim === 'nbf' ? 'not_yet_valid' : 'malformed';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown_key';
  return 'malformed';
}

/**
 * Verifies signature, type, lifetime, audience and scope; returns the claims or throws a
 * ConsentError whose `reason` says which check failed. Revocation is the caller's next step.
 */
export async function verifyConsentToken(
  token: string,
  keys: JSONWebKeySet | JWTVerifyGetKey,
  expect: ConsentExpectation,
): Promise<ConsentClaims> {
  try {
    if (decodeProtectedHeader(token).typ !== CONSENT_TOKEN_TYPE) throw new ConsentError({ reason: 'malformed' });
    const getKey = typeof keys === 'function' ? keys : createLocalJWKSet(keys);
    const { payload } = await jwtVerify(token, getKey, {
      algorithms: ['EdDSA'],
      typ: CONSENT_TOKEN_TYPE,
      ...(expect.issuer === undefined ? {} : { issuer: expect.issuer }),
      ...(expect.now === undefined ? {} : { currentDate: expect.now }),
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
    });
    const claims = ConsentClaimsSchema.safeParse(payload);
    if (!claims.success) throw new ConsentError({ reason: 'malformed' });
    if (expect.audience !== null && claims.data.aud !== ANY_AUDIENCE && claims.data.aud !== expect.audience) throw new ConsentError({ reason: 'wrong_audience' });
    if (expect.scope !== null && !claims.data.scope.includes(expect.scope)) throw new ConsentError({ reason: 'wrong_scope' });
    return claims.data;
  } catch (error) {
    if (error instanceof ConsentError) throw error;
    const reason = failure(error);
    throw new ConsentError({ reason }, `consent token refused: ${reason.replaceAll('_', ' ')} (${(error as Error).message})`);
  }
}
