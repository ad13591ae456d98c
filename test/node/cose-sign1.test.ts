import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, ExtendedKeyUsage, id_ce_extKeyUsage, id_ce_keyUsage } from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { issueSigningCertificate, p1363ToDer } from '../../contracts/c2pa-certificate.ts';
import { coseSign1Es256, coseSign1Fits, coseSign1MinimumSize, coseSign1ReserveSize } from '../../contracts/index.ts';

/** The C2PA claim signature's COSE_Sign1 must fill the space c2pa-rs reserved to the byte. */
describe('COSE_Sign1 for C2PA (ES256, detached payload)', () => {
  const certificate = new Uint8Array(420).fill(0x30);
  const signer = { certificates: [certificate], sign: () => Promise.resolve(new Uint8Array(64).fill(7)) };

  it('pads to exactly the reserved size; refuses only sizes no single pad entry can fill', async () => {
    const fits = async (size: number) => {
      const out = await coseSign1Es256(new Uint8Array([1, 2, 3]), signer, size).catch(() => null);
      if (out) {
        expect(out.length).toBe(size);
        expect([...out.subarray(0, 2)]).toEqual([0xd2, 0x84]); // tag 18, array of 4
      }
      return out !== null;
    };
    let unpadded = 0; // the size with an empty unprotected header
    while (!(await fits(unpadded))) unpadded++;
    const refused: number[] = [];
    for (let size = unpadded + 1; size < unpadded + 300; size++) if (!(await fits(size))) refused.push(size - unpadded);
    // A "pad" entry costs at least 5 bytes, and its byte-string head grows from 1 to 2 bytes at 24
    // and from 2 to 3 at 256, skipping one total size each time.
    expect(refused).toEqual([1, 2, 3, 4, 4 + 25, 4 + 258]);
    expect(await fits(coseSign1ReserveSize([certificate]))).toBe(true);
    // What the edge checks before signing says the same, without signing.
    expect(coseSign1MinimumSize([certificate])).toBe(unpadded);
    for (let size = unpadded - 3; size < unpadded + 300; size++) expect(coseSign1Fits([certificate], size), `size ${size}`).toBe(size >= unpadded && !refused.includes(size - unpadded));
    expect(coseSign1Fits([certificate], unpadded + 10.5)).toBe(false);
  });

  it('refuses a size it cannot fill before asking the signer', async () => {
    let asked = false;
    const spy = { certificates: [certificate], sign: () => ((asked = true), Promise.resolve(new Uint8Array(64))) };
    await expect(coseSign1Es256(new Uint8Array(3), spy, coseSign1MinimumSize([certificate]) + 1)).rejects.toThrow(/cannot be padded to exactly/);
    expect(asked).toBe(false);
  });

  it('signs the RFC 9052 Sig_structure: ["Signature1", protected, empty aad, payload]', async () => {
    let signed: Uint8Array | undefined;
    await coseSign1Es256(new Uint8Array([9, 9]), { certificates: [certificate], sign: (d) => ((signed = d), Promise.resolve(new Uint8Array(64))) }, 1000);
    const text = new TextEncoder().encode('Signature1');
    expect([...signed!.subarray(0, 2 + text.length)]).toEqual([0x84, 0x6a, ...text]);
    expect([...signed!.subarray(-3)]).toEqual([0x42, 9, 9]);
  });
});

describe('self-issued C2PA signing certificates', () => {
  it("meet c2pa-rs's end-entity profile and are signed by their own key", async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const now = new Date('2026-03-01T12:00:00Z');
    const issued = await issueSigningCertificate(keys, { commonName: 'Zoetrope (test instance)', lifetimeDays: 30 }, now);
    expect(issued.notBefore.getTime()).toBe(now.getTime() - 5 * 60_000);
    expect(issued.notAfter.getTime()).toBe(now.getTime() + 30 * 86_400_000);
    const cert = AsnConvert.parse(issued.der, Certificate);
    const tbs = cert.tbsCertificate;
    expect(tbs.version).toBe(2); // v3
    expect(tbs.subject.map((rdn) => rdn[0]?.value.toString())).toEqual(['Zoetrope', 'Zoetrope (test instance)']);
    expect(AsnConvert.serialize(tbs.issuer)).toEqual(AsnConvert.serialize(tbs.subject));
    const extension = (id: string) => tbs.extensions?.find((e) => e.extnID === id);
    expect(extension(id_ce_keyUsage)?.critical).toBe(true);
    expect([...AsnConvert.parse(extension(id_ce_extKeyUsage)!.extnValue, ExtendedKeyUsage)]).toEqual(['1.3.6.1.5.5.7.3.36']);
    expect(tbs.extensions?.map((e) => e.extnID)).toEqual(['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.14', '2.5.29.35']);
    // The signature (DER) over the TBS verifies with the certificate's own public key.
    const publicKey = await crypto.subtle.importKey('spki', AsnConvert.serialize(tbs.subjectPublicKeyInfo), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const der = new Uint8Array(cert.signatureValue);
    const raw = derToP1363(der);
    expect(p1363ToDer(raw)).toEqual(der);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, raw, AsnConvert.serialize(tbs))).toBe(true);

    const organization = await issueSigningCertificate(keys, { commonName: 'x'.repeat(80), organization: 'Example', lifetimeDays: 1 }, now);
    expect(AsnConvert.parse(organization.der, Certificate).tbsCertificate.subject.map((rdn) => rdn[0]?.value.toString())).toEqual(['Example', 'x'.repeat(64)]);
    await expect(issueSigningCertificate(keys, { commonName: 'y', lifetimeDays: 0 }, now)).rejects.toThrow(/lifetimeDays/);
  });

  it('writes r‖s as minimal DER integers (leading zeros dropped, a zero added before a set high bit)', () => {
    const r = new Uint8Array(32).fill(0x11);
    r[0] = 0;
    r[1] = 0x01;
    const s = new Uint8Array(32).fill(0x22);
    s[0] = 0x80;
    const der = p1363ToDer(Uint8Array.from([...r, ...s]));
    expect([...der.subarray(0, 4)]).toEqual([0x30, 2 + 31 + 2 + 33, 0x02, 31]);
    expect(derToP1363(der)).toEqual(Uint8Array.from([...r, ...s]));
  });
});

/** The inverse of p1363ToDer for P-256, written independently: SEQUENCE { INTEGER r, INTEGER s } → r‖s. */
function derToP1363(der: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(64);
  let at = 2;
  for (const half of [0, 1]) {
    const length = der[at + 1]!;
    const body = der.subarray(at + 2, at + 2 + length);
    const trimmed = body.length > 32 ? body.subarray(body.length - 32) : body;
    out.set(trimmed, half * 32 + 32 - trimmed.length);
    at += 2 + length;
  }
  return out;
}
