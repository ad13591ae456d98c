/**
 * Self-issued X.509 certificates for C2PA claim signers: the device's key (workers/ device-identity.ts)
 * and the instance's key (edge/ provenance.ts) each get one.
 *
 * The certificate meets c2pa-rs's end-entity profile (crypto/cose/certificate_profile.rs): v3,
 * ecdsa-with-SHA256 over P-256, CA:FALSE, keyUsage digitalSignature (critical), an allowed EKU
 * (id-kp-documentSigning), and an authority key identifier (required even on a self-signed
 * certificate). Nobody's trust list holds it, so validators report the signature as valid and the
 * signer as untrusted unless they pin the certificate.
 *
 * It is built with @peculiar/asn1-x509 rather than @peculiar/x509, whose DI container (tsyringe)
 * throws on import unless a global `Reflect.getMetadata` polyfill is loaded first.
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';

const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const ID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
/** id-kp-documentSigning (RFC 9336), on c2pa-rs's default list of allowed EKUs. */
const ID_KP_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';
const ID_AT_COMMON_NAME = '2.5.4.3';
const ID_AT_ORGANIZATION = '2.5.4.10';
/** X.520 upper bound of a common name (and of an organization name). */
const NAME_MAX_LENGTH = 64;
const DAY_MS = 86_400_000;
/** Certificates start 5 minutes early, for clocks that run a little behind. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** An ECDSA P-256 key pair whose private half can sign (extractable or not). */
export interface SigningKeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

export interface CertificateSubject {
  readonly commonName: string;
  /** Defaults to 'Zoetrope'. */
  readonly organization?: string;
  readonly lifetimeDays: number;
}

export interface IssuedCertificate {
  readonly der: Uint8Array<ArrayBuffer>;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** DER ECDSA-Sig-Value from WebCrypto's r‖s (X.509 wants DER; COSE wants r‖s). */
export function p1363ToDer(signature: Uint8Array): Uint8Array<ArrayBuffer> {
  const half = signature.length / 2;
  const integer = (bytes: Uint8Array): number[] => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const body = Array.from(bytes.subarray(i));
    if ((body[0] ?? 0) & 0x80) body.unshift(0);
    return [0x02, body.length, ...body];
  };
  const content = [...integer(signature.subarray(0, half)), ...integer(signature.subarray(half))];
  return Uint8Array.from([0x30, content.length, ...content]);
}

function name(subject: CertificateSubject): Name {
  const rdn = (type: string, text: string) => new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: text.slice(0, NAME_MAX_LENGTH) }) })]);
  return new Name([rdn(ID_AT_ORGANIZATION, subject.organization ?? 'Zoetrope'), rdn(ID_AT_COMMON_NAME, subject.commonName)]);
}

const extension = (extnID: string, critical: boolean, value: unknown) => new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

/** A self-signed end-entity certificate for `keys`, valid from `now` (less 5 minutes of clock skew) for `lifetimeDays`. */
export async function issueSigningCertificate(keys: SigningKeyPair, subject: CertificateSubject, now: Date): Promise<IssuedCertificate> {
  if (subject.commonName.length === 0) throw new RangeError('a certificate needs a common name');
  if (!Number.isFinite(subject.lifetimeDays) || subject.lifetimeDays <= 0) throw new RangeError(`lifetimeDays must be positive (got ${subject.lifetimeDays})`);
  const spki = AsnConvert.parse(await crypto.subtle.exportKey('spki', keys.publicKey), SubjectPublicKeyInfo);
  // RFC 7093 §2 method 1: the key identifier is the leftmost 160 bits of sha256(subjectPublicKey).
  const keyId = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(spki.subjectPublicKey))).slice(0, 20);
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, and no leading zero to strip
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  const notAfter = new Date(now.getTime() + subject.lifetimeDays * DAY_MS);
  const signatureAlgorithm = new AlgorithmIdentifier({ algorithm: ID_ECDSA_WITH_SHA256 });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial.buffer,
    signature: signatureAlgorithm,
    issuer: name(subject),
    subject: name(subject),
    validity: new Validity({ notBefore, notAfter }),
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
      extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
      extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([ID_KP_DOCUMENT_SIGNING])),
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId)),
      extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId) })),
    ]),
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = p1363ToDer(new Uint8Array(await crypto.subtle.sign(ES256, keys.privateKey, tbsDer)));
  const certificate = new Certificate({ tbsCertificate: tbs, signatureAlgorithm, signatureValue: signature.buffer });
  return { der: new Uint8Array(AsnConvert.serialize(certificate)), notBefore, notAfter };
}
