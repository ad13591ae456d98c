import { decodeProtectedHeader, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConsentError, signConsentToken, ValidationError, verifyConsentToken, type ConsentClaims } from '../../contracts/index.ts';
import { consentClaims, makeSigningKey, NOW_S, type TestSigningKey } from '../fixtures/consent.ts';

const at = (s: number) => new Date(s * 1000);
const expect_ = { audience: 'user_grantee0001', scope: 'generate' as const, now: at(NOW_S + 60) };

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConsentError) return error.reason;
    throw error;
  }
  throw new Error('expected the token to be refused');
}

describe('consent tokens', () => {
  let owner: TestSigningKey;
  let forger: TestSigningKey;
  beforeAll(async () => {
    owner = await makeSigningKey('owner-2026-11');
    forger = await makeSigningKey('owner-2026-11'); // same kid, different key
  });

  it('signs EdDSA JWS with our type and key id, and verifies offline against the JWKS', async () => {
    const token = await signConsentToken(consentClaims({ restrictions: 'No sports commentary voices' }), owner.privateKey, owner.kid);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', typ: 'zoetrope-consent+jwt', kid: 'owner-2026-11' });
    const claims: ConsentClaims = await verifyConsentToken(token, owner.jwks, { ...expect_, issuer: 'https://owner.zoetrope.example' });
    expect(claims.sub).toBe('cameo_ownerface01');
    expect(claims.restrictions).toBe('No sports commentary voices');
  });

  it('accepts an everyone-audience token for any grantee', async () => {
    const token = await signConsentToken(consentClaims({ aud: '*' }), owner.privateKey, owner.kid);
    await expect(verifyConsentToken(token, owner.jwks, { ...expect_, audience: 'someone_else' })).resolves.toMatchObject({ aud: '*' });
  });

  it('refuses forged, tampered, expired, early, wrong-audience, wrong-scope and wrong-issuer tokens', async () => {
    const good = await signConsentToken(consentClaims(), owner.privateKey, owner.kid);
    const forged = await signConsentToken(consentClaims(), forger.privateKey, forger.kid);
    const [h, , s] = good.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...consentClaims(), aud: '*' })).toString('base64url')}.${s}`;
    const early = await signConsentToken(consentClaims({ nbf: NOW_S + 600 }), owner.privateKey, owner.kid);

    expect(await reasonOf(verifyConsentToken(forged, owner.jwks, expect_))).toBe('bad_signature');
    expect(await reasonOf(verifyConsentToken(tampered, owner.jwks, expect_))).toBe('bad_signature');
    expect(await reasonOf(verifyConsentToken(good, owner.jwks, { ...expect_, now: at(NOW_S + 3601) }))).toBe('expired');
    expect(await reasonOf(verifyConsentToken(early, owner.jwks, expect_))).toBe('not_yet_valid');
    expect(await reasonOf(verifyConsentToken(good, owner.jwks, { ...expect_, audience: 'user_stranger01' }))).toBe('wrong_audience');
    expect(await reasonOf(verifyConsentToken(good, owner.jwks, { ...expect_, scope: 'remix' }))).toBe('wrong_scope');
    expect(await reasonOf(verifyConsentToken(good, owner.jwks, { ...expect_, issuer: 'https://evil.example' }))).toBe('malformed');
    expect(await reasonOf(verifyConsentToken('not.a.token', owner.jwks, expect_))).toBe('malformed');
  });

  it('refuses a key it does not know and a token of another type', async () => {
    const rotated = await signConsentToken(consentClaims(), owner.privateKey, 'owner-2027-01');
    expect(await reasonOf(verifyConsentToken(rotated, owner.jwks, expect_))).toBe('unknown_key');
    const plainJwt = await new SignJWT({ ...consentClaims() }).setProtectedHeader({ alg: 'EdDSA', kid: owner.kid }).sign(owner.privateKey);
    expect(await reasonOf(verifyConsentToken(plainJwt, owner.jwks, expect_))).toBe('malformed');
  });

  it('refuses a token whose signed claims break the contract (lifetime over 12 hours)', async () => {
    const longLived = await new SignJWT({ ...consentClaims(), exp: NOW_S + 48 * 3600 })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'zoetrope-consent+jwt', kid: owner.kid })
      .sign(owner.privateKey);
    expect(await reasonOf(verifyConsentToken(longLived, owner.jwks, expect_))).toBe('malformed');
  });

  it('will not sign claims that break the contract, and names the field', async () => {
    await expect(signConsentToken(consentClaims({ exp: NOW_S + 13 * 3600 }), owner.privateKey, owner.kid)).rejects.toThrow('consent.exp must be at most 12 hours after iat');
    await expect(signConsentToken(consentClaims({ scope: [] }), owner.privateKey, owner.kid)).rejects.toBeInstanceOf(ValidationError);
    await expect(signConsentToken(consentClaims({ iss: 'ftp://x' }), owner.privateKey, owner.kid)).rejects.toThrow('consent.iss must be the issuing instance URL');
  });
});
