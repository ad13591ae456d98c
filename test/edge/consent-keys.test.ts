import { env, SELF } from 'cloudflare:test';
import type { JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { CONSENT_TOKEN_MAX_LIFETIME_S, ConsentError, verifyConsentToken } from '../../contracts/index.ts';
import { activeKey, issueConsentToken, jwks, revokeConsent, rotateKey } from '../../edge/src/signing-keys.ts';
import { consentClaims } from '../fixtures/consent.ts';

const now = () => Math.floor(Date.now() / 1000);
const claims = (jti: string) => consentClaims({ iat: now(), exp: now() + 3600, jti });
const expectation = { audience: 'user_grantee0001', scope: 'generate' as const };

describe('consent-token keys, JWKS and revocation status', () => {
  it('publishes the active Ed25519 key at /.well-known/jwks.json, never its private part', async () => {
    const res = await SELF.fetch('http://edge.test/.well-known/jwks.json');
    expect(res.status).toBe(200);
    const set = await res.json<JSONWebKeySet>();
    const active = await activeKey(env.DB);
    expect(set.keys.map((k) => k.kid)).toContain(active.kid);
    for (const k of set.keys) {
      expect(k).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(k).not.toHaveProperty('d');
    }
  });

  it('issues tokens other instances verify with the JWKS alone', async () => {
    const token = await issueConsentToken(env.DB, claims('jti_issue_000000001'));
    const set = await (await SELF.fetch('http://edge.test/.well-known/jwks.json')).json<JSONWebKeySet>();
    await expect(verifyConsentToken(token, set, expectation)).resolves.toMatchObject({ jti: 'jti_issue_000000001' });
  });

  it('rotates keys without breaking live tokens, and drops keys retired longer than a token lives', async () => {
    const before = await issueConsentToken(env.DB, claims('jti_rotate_00000001'));
    const { retired, active } = await rotateKey(env.DB);
    expect(retired).not.toBe(active);
    const after = await issueConsentToken(env.DB, claims('jti_rotate_00000002'));
    const set = await jwks(env.DB);
    await expect(verifyConsentToken(before, set, expectation)).resolves.toMatchObject({ jti: 'jti_rotate_00000001' });
    await expect(verifyConsentToken(after, set, expectation)).resolves.toMatchObject({ jti: 'jti_rotate_00000002' });
    // 12 h and a minute later the retired key is gone from the set (its tokens have all expired by then).
    const later = await jwks(env.DB, now() + CONSENT_TOKEN_MAX_LIFETIME_S + 60);
    expect(later.keys.map((k) => k.kid)).not.toContain(retired);
    const error = await verifyConsentToken(before, later, expectation).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsentError);
  });

  it('reports revocation by jti, and refuses a malformed jti', async () => {
    const status = (jti: string) => SELF.fetch(`http://edge.test/api/consent/status/${jti}`);
    expect(await (await status('jti_revoke_00000001')).json()).toEqual({ jti: 'jti_revoke_00000001', revoked: false });
    await revokeConsent(env.DB, 'jti_revoke_00000001');
    const res = await status('jti_revoke_00000001');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ jti: 'jti_revoke_00000001', revoked: true });
    expect((await status('short')).status).toBe(400);
  });
});
