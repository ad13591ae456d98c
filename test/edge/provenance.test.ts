import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { base64 } from '@scure/base';
import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { coseSign1MinimumSize, coseSign1ReserveSize, encodeCbor, sha256Hex, type Recipe } from '../../contracts/index.ts';
import { CLAIM_MAX_BYTES, SIGN_LIMIT, type ClaimSignatureView, type InstanceCertificateView, type SignedClaimView } from '../../edge/src/provenance.ts';
import type { RecipeView } from '../../edge/src/recipes.ts';
import { decodeCbor, DecodedTag, type Decoded } from '../fixtures/cbor-decoder.ts';
import { DRAFT_RECIPE } from '../fixtures/recipes.ts';
import { BASE, call, person, type Who } from './people.ts';

/**
 * The instance signs C2PA claims with its key (POST /api/provenance/sign): each answer is checked the
 * way a C2PA validator would, by decoding the COSE_Sign1 and verifying its ES256 signature with the
 * public key of the certificate GET /api/provenance/certificate publishes.
 */

let seeds = 9000;
async function published(who: Who): Promise<string> {
  const recipe: Recipe = { ...DRAFT_RECIPE, seed: seeds++ };
  const res = await call(who, 'POST', '/recipes', { recipe });
  expect(res.status).toBe(201);
  return (await res.json<RecipeView>()).id;
}

const randomClaim = (bytes = 1500) => crypto.getRandomValues(new Uint8Array(bytes));

async function certificate(): Promise<InstanceCertificateView & { der: Uint8Array }> {
  const res = await SELF.fetch(`${BASE}/provenance/certificate`);
  expect(res.status).toBe(200);
  const view = await res.json<InstanceCertificateView>();
  return { ...view, der: base64.decode(view.certificate) };
}

const sign = (who: Who | null, body: { recipeId: string; claim: Uint8Array | string; reserveSize: number }) =>
  call(who, 'POST', '/provenance/sign', { ...body, claim: typeof body.claim === 'string' ? body.claim : base64.encode(body.claim) });

const spkiOf = (der: Uint8Array) => new Uint8Array(AsnConvert.serialize(AsnConvert.parse(der, Certificate).tbsCertificate.subjectPublicKeyInfo));

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Decodes a tagged COSE_Sign1 and verifies it over `claim` with the certificate's key; returns its parts. */
async function verifyCose(cose: Uint8Array, claim: Uint8Array, certificateDer: Uint8Array): Promise<{ certificate: Uint8Array; pad: Uint8Array | undefined }> {
  const tagged = decodeCbor(cose);
  expect(tagged).toBeInstanceOf(DecodedTag);
  expect((tagged as DecodedTag).tag).toBe(18); // COSE_Sign1
  const [protectedBytes, unprotected, payload, signature] = (tagged as DecodedTag).value as readonly Decoded[];
  expect(payload).toBeNull(); // detached: the claim is the payload
  expect(protectedBytes).toBeInstanceOf(Uint8Array);
  expect(signature).toBeInstanceOf(Uint8Array);
  expect((signature as Uint8Array).length).toBe(64);
  const header = decodeCbor(protectedBytes as Uint8Array) as ReadonlyMap<Decoded, Decoded>;
  expect(header.get(1)).toBe(-7); // alg: ES256
  const x5chain = header.get(33) as Uint8Array;
  expect(same(x5chain, certificateDer)).toBe(true);
  const pad = (unprotected as ReadonlyMap<Decoded, Decoded>).get('pad') as Uint8Array | undefined;

  // RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad = h'', payload].
  const toBeSigned = encodeCbor(['Signature1', protectedBytes as Uint8Array, new Uint8Array(0), claim]);
  const key = await crypto.subtle.importKey('spki', spkiOf(x5chain), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature as Uint8Array<ArrayBuffer>, toBeSigned)).toBe(true);
  // The same signature over another claim does not verify.
  const other = encodeCbor(['Signature1', protectedBytes as Uint8Array, new Uint8Array(0), claim.map((b, i) => (i === 0 ? b ^ 1 : b))]);
  expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature as Uint8Array<ArrayBuffer>, other)).toBe(false);
  return { certificate: x5chain, pad };
}

const signatureRows = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM c2pa_signatures').first<{ n: number }>())?.n ?? -1;

describe("C2PA claims signed with the instance's key", () => {
  it('signs a claim for a recipe you published: a COSE_Sign1 of exactly the reserved size that verifies against the published certificate', async () => {
    const me = await person('c2pa');
    const recipeId = await published(me);
    const cert = await certificate();
    expect(cert.certificateSha256).toBe(await sha256Hex(cert.der));
    const parsed = AsnConvert.parse(cert.der, Certificate).tbsCertificate;
    expect(parsed.subject.map((rdn) => rdn[0]?.value.toString())).toEqual(['Zoetrope', env.INSTANCE_NAME]);
    expect(cert.notAfter - cert.notBefore).toBeGreaterThan(360 * 86_400);

    const claim = randomClaim();
    const reserveSize = coseSign1ReserveSize([cert.der]);
    const res = await sign(me, { recipeId, claim, reserveSize });
    expect(res.status).toBe(200);
    const signed = await res.json<SignedClaimView>();
    expect(signed.certificateSha256).toBe(cert.certificateSha256);
    expect(signed.claimSha256).toBe(await sha256Hex(claim));
    expect(Math.abs(signed.signedAt - Date.now() / 1000)).toBeLessThan(60);
    const cose = base64.decode(signed.cose);
    expect(cose.length).toBe(reserveSize);
    const { pad } = await verifyCose(cose, claim, cert.der);
    expect(pad?.every((b) => b === 0)).toBe(true);

    // The audit trail says which recipe the claim was signed for, and when (not who).
    const audit = await SELF.fetch(`${BASE}/provenance/signatures/${signed.claimSha256}`);
    expect(audit.status).toBe(200);
    expect(await audit.json<ClaimSignatureView>()).toEqual({ claimSha256: signed.claimSha256, recipeId, certificateSha256: cert.certificateSha256, signedAt: signed.signedAt });
    const row = await env.DB.prepare('SELECT user_id, recipe_id FROM c2pa_signatures WHERE claim_sha256 = ?').bind(signed.claimSha256).first<{ user_id: string; recipe_id: string }>();
    expect(row).toEqual({ user_id: me.me.id, recipe_id: recipeId });

    // Another request, another person, another size: the same key and certificate.
    const you = await person('c2pa');
    const second = randomClaim(300);
    const again = await sign(you, { recipeId: await published(you), claim: second, reserveSize: 4000 });
    expect(again.status).toBe(200);
    const signedAgain = await again.json<SignedClaimView>();
    expect(signedAgain.certificateSha256).toBe(cert.certificateSha256);
    const cose2 = base64.decode(signedAgain.cose);
    expect(cose2.length).toBe(4000);
    await verifyCose(cose2, second, cert.der);
    expect((await certificate()).certificateSha256).toBe(cert.certificateSha256);
  });

  it('refuses: signed out, no CSRF token, a recipe someone else published, an unpublished recipe, bad base64, an oversized claim, a reserve it cannot fill; and records nothing', async () => {
    const [me, other] = [await person('c2pa'), await person('c2pa')];
    const [mine, theirs] = [await published(me), await published(other)];
    const cert = await certificate();
    const reserveSize = coseSign1ReserveSize([cert.der]);
    const claim = randomClaim();
    const before = await signatureRows();
    const refusal = async (res: Response, status: number, code: string) => {
      expect(res.status).toBe(status);
      const body = await res.json<{ code: string; message: string; details: { issues?: { field: string }[] } }>();
      expect(body.code).toBe(code);
      return body;
    };

    await refusal(await sign(null, { recipeId: mine, claim, reserveSize }), 401, 'unauthorized');
    const noCsrf = await SELF.fetch(`${BASE}/provenance/sign`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: me.cookie }, body: JSON.stringify({ recipeId: mine, claim: base64.encode(claim), reserveSize }) });
    expect((await refusal(noCsrf, 403, 'forbidden')).message).toContain('x-csrf-token');
    await refusal(await sign(me, { recipeId: theirs, claim, reserveSize }), 404, 'not_found');
    // A recipe id nobody published, and one I published and withdrew.
    await refusal(await sign(me, { recipeId: 'a'.repeat(52), claim, reserveSize }), 404, 'not_found');
    const withdrawn = await published(me);
    expect((await call(me, 'DELETE', `/recipes/${withdrawn}/publication`)).status).toBe(204);
    await refusal(await sign(me, { recipeId: withdrawn, claim, reserveSize }), 404, 'not_found');

    const notBase64 = await refusal(await sign(me, { recipeId: mine, claim: 'this is not base64!', reserveSize }), 400, 'invalid_input');
    expect(notBase64.details.issues?.[0]?.field).toBe('sign.claim');
    await refusal(await sign(me, { recipeId: mine, claim: '', reserveSize }), 400, 'invalid_input');
    const oversized = await refusal(await sign(me, { recipeId: mine, claim: new Uint8Array(CLAIM_MAX_BYTES + 1), reserveSize }), 413, 'payload_too_large');
    expect(oversized.message).toContain('sign.claim');
    // The limit itself is fine.
    const largest = await sign(me, { recipeId: mine, claim: randomClaim(CLAIM_MAX_BYTES), reserveSize });
    expect(largest.status).toBe(200);
    expect(await signatureRows()).toBe(before + 1);

    const tooSmall = await refusal(await sign(me, { recipeId: mine, claim, reserveSize: 200 }), 400, 'invalid_input');
    expect(tooSmall.details.issues?.[0]?.field).toBe('sign.reserveSize');
    expect(tooSmall.message).toContain(`reserve ${reserveSize} bytes`);
    // The smallest COSE_Sign1 (no pad) is signed; one byte more cannot be filled by a pad entry.
    const minimum = coseSign1MinimumSize([cert.der]);
    const unfillable = await refusal(await sign(me, { recipeId: mine, claim, reserveSize: minimum + 1 }), 400, 'invalid_input');
    expect(unfillable.message).toContain('cannot be filled exactly');
    const exact = await sign(me, { recipeId: mine, claim, reserveSize: minimum });
    expect(exact.status).toBe(200);
    expect(base64.decode((await exact.json<SignedClaimView>()).cose).length).toBe(minimum);
    await refusal(await sign(me, { recipeId: mine, claim, reserveSize: 1_000_000 }), 400, 'invalid_input');
    await refusal(await sign(me, { recipeId: mine, claim, reserveSize: 1.5 }), 400, 'invalid_input');
    expect(await signatureRows()).toBe(before + 2);
  });

  it('refuses a claim already signed for another recipe or person, and signs it again for the same one', async () => {
    const [me, other] = [await person('c2pa'), await person('c2pa')];
    const [mine, also, theirs] = [await published(me), await published(me), await published(other)];
    const reserveSize = coseSign1ReserveSize([(await certificate()).der]);
    const claim = randomClaim();
    expect((await sign(me, { recipeId: mine, claim, reserveSize })).status).toBe(200);
    expect((await sign(me, { recipeId: mine, claim, reserveSize })).status).toBe(200);
    expect((await sign(me, { recipeId: also, claim, reserveSize })).status).toBe(409);
    expect((await sign(other, { recipeId: theirs, claim, reserveSize })).status).toBe(409);
    const audit = await (await SELF.fetch(`${BASE}/provenance/signatures/${await sha256Hex(claim)}`)).json<ClaimSignatureView>();
    expect(audit.recipeId).toBe(mine);
  });

  it(`rate-limits each person to ${SIGN_LIMIT.signatures} signatures an hour, with Retry-After`, async () => {
    const [me, other] = [await person('c2pa'), await person('c2pa')];
    const recipeId = await published(me);
    const reserveSize = coseSign1ReserveSize([(await certificate()).der]);
    const now = Math.floor(Date.now() / 1000);
    // An hour's worth already signed, the oldest 10 minutes ago; and one from before the window.
    const rows = Array.from({ length: SIGN_LIMIT.signatures }, (_, i) => [`${i.toString(16).padStart(4, '0')}${'c'.repeat(60)}`, now - 600 + i] as const);
    await env.DB.batch([
      ...rows.map(([hash, at]) => env.DB.prepare('INSERT INTO c2pa_signatures (claim_sha256, user_id, recipe_id, certificate_sha256, signed_at) VALUES (?, ?, ?, ?, ?)').bind(hash, me.me.id, recipeId, 'd'.repeat(64), at)),
      env.DB.prepare('INSERT INTO c2pa_signatures (claim_sha256, user_id, recipe_id, certificate_sha256, signed_at) VALUES (?, ?, ?, ?, ?)').bind('e'.repeat(64), me.me.id, recipeId, 'd'.repeat(64), now - SIGN_LIMIT.windowS - 5),
    ]);
    const before = await signatureRows();
    const limited = await sign(me, { recipeId, claim: randomClaim(), reserveSize });
    expect(limited.status).toBe(429);
    expect((await limited.json<{ code: string }>()).code).toBe('rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(SIGN_LIMIT.windowS - 600 - 60);
    expect(retryAfter).toBeLessThanOrEqual(SIGN_LIMIT.windowS - 600 + 1);
    expect(await signatureRows()).toBe(before);
    // Someone else is not limited by my signatures.
    expect((await sign(other, { recipeId: await published(other), claim: randomClaim(), reserveSize })).status).toBe(200);
  });

  it('answers the audit lookup with 404 for a claim it never signed and 400 for something that is not a sha256', async () => {
    const unknown = await SELF.fetch(`${BASE}/provenance/signatures/${'0'.repeat(64)}`);
    expect(unknown.status).toBe(404);
    expect((await unknown.json<{ code: string; details: { resource: string } }>()).details.resource).toBe('signature of claim');
    const malformed = await SELF.fetch(`${BASE}/provenance/signatures/${'G'.repeat(64)}`);
    expect(malformed.status).toBe(400);
  });

  it('reissues the certificate for the same key when it nears expiry, and signs with the new one', async () => {
    const old = await certificate();
    await env.DB.prepare("UPDATE c2pa_signing_identity SET not_after = ? WHERE slot = 'instance'").bind(Math.floor(Date.now() / 1000) + 3600).run();
    const renewed = await certificate();
    expect(renewed.certificateSha256).not.toBe(old.certificateSha256);
    expect(same(spkiOf(renewed.der), spkiOf(old.der))).toBe(true);
    expect(renewed.notAfter).toBeGreaterThan(Date.now() / 1000 + 360 * 86_400);
    expect((await certificate()).certificateSha256).toBe(renewed.certificateSha256);

    const me = await person('c2pa');
    const claim = randomClaim();
    const res = await sign(me, { recipeId: await published(me), claim, reserveSize: coseSign1ReserveSize([renewed.der]) });
    const signed = await res.json<SignedClaimView>();
    expect(signed.certificateSha256).toBe(renewed.certificateSha256);
    await verifyCose(base64.decode(signed.cose), claim, renewed.der);
  });
});
