/**
 * The device's signing identity for C2PA manifests: an ECDSA P-256 key made by WebCrypto with a
 * non-extractable private half, kept in IndexedDB (one per browser profile), and a self-signed X.509
 * certificate for it, reissued for the same key when it nears expiry.
 *
 * The certificate meets c2pa-rs's end-entity profile (crypto/cose/certificate_profile.rs): v3,
 * ecdsa-with-SHA256 over P-256, CA:FALSE, keyUsage digitalSignature (critical), an allowed EKU
 * (id-kp-documentSigning), and an authority key identifier (required even on a self-signed
 * certificate). Nobody's trust list holds it, so validators report the signature as valid and the
 * signer as untrusted; signing with the instance's key comes later.
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
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

const ECDSA_P256: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const ES256: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const ID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
/** id-kp-documentSigning (RFC 9336), on c2pa-rs's default list of allowed EKUs. */
const ID_KP_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';
const ID_AT_COMMON_NAME = '2.5.4.3';
const ID_AT_ORGANIZATION = '2.5.4.10';

const DAY_MS = 86_400_000;
export const DEVICE_CERTIFICATE_LIFETIME_DAYS = 365;
/** Reissue the certificate this long before it expires, so no clip is signed on its last day. */
const RENEW_BEFORE_MS = 7 * DAY_MS;

export interface DeviceIdentity {
  /** First 16 hex digits of sha256(SubjectPublicKeyInfo): names the key, stays the same across renewals. */
  readonly deviceId: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The self-signed certificate (DER). */
  readonly certificate: Uint8Array<ArrayBuffer>;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

interface StoredIdentity {
  readonly deviceId: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly certificate: Uint8Array<ArrayBuffer>;
  readonly notBefore: number;
  readonly notAfter: number;
}

interface IdentityDb extends DBSchema {
  identity: { key: string; value: StoredIdentity };
}

const SLOT = 'device';

function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
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

function name(deviceId: string): Name {
  const rdn = (type: string, text: string) => new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: text }) })]);
  return new Name([rdn(ID_AT_ORGANIZATION, 'Zoetrope'), rdn(ID_AT_COMMON_NAME, `Zoetrope device ${deviceId.slice(0, 8)}`)]);
}

const extension = (extnID: string, critical: boolean, value: unknown) => new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

/** A self-signed end-entity certificate for `keys`, valid from `now` (less 5 minutes of clock skew) for a year. */
export async function issueDeviceCertificate(keys: CryptoKeyPair, deviceId: string, now: Date): Promise<{ der: Uint8Array<ArrayBuffer>; notBefore: Date; notAfter: Date }> {
  const spki = AsnConvert.parse(await crypto.subtle.exportKey('spki', keys.publicKey), SubjectPublicKeyInfo);
  // RFC 7093 §2 method 1: the key identifier is the leftmost 160 bits of sha256(subjectPublicKey).
  const keyId = new Uint8Array(await crypto.subtle.digest('SHA-256', spki.subjectPublicKey)).slice(0, 20);
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, and no leading zero to strip
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + DEVICE_CERTIFICATE_LIFETIME_DAYS * DAY_MS);
  const signatureAlgorithm = new AlgorithmIdentifier({ algorithm: ID_ECDSA_WITH_SHA256 });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial.buffer,
    signature: signatureAlgorithm,
    issuer: name(deviceId),
    subject: name(deviceId),
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
  const tbsDer = AsnConvert.serialize(tbs);
  const signature = p1363ToDer(new Uint8Array(await crypto.subtle.sign(ES256, keys.privateKey, tbsDer)));
  const certificate = new Certificate({ tbsCertificate: tbs, signatureAlgorithm, signatureValue: signature.buffer });
  return { der: new Uint8Array(AsnConvert.serialize(certificate)), notBefore, notAfter };
}

const fromStored = (s: StoredIdentity): DeviceIdentity => ({ ...s, notBefore: new Date(s.notBefore), notAfter: new Date(s.notAfter) });

/**
 * The device identity in one IndexedDB database. `current()` makes the key on first use, reuses it
 * afterwards (in every worker and tab of this profile) and reissues the certificate near expiry.
 */
export class DeviceIdentityStore {
  private db: Promise<IDBPDatabase<IdentityDb>> | null = null;

  constructor(readonly dbName = 'zoetrope-device-identity') {}

  private open(): Promise<IDBPDatabase<IdentityDb>> {
    this.db ??= openDB<IdentityDb>(this.dbName, 1, { upgrade: (db) => db.createObjectStore('identity') }).catch((error: unknown) => {
      this.db = null;
      throw error;
    });
    return this.db;
  }

  async current(now = new Date()): Promise<DeviceIdentity> {
    const db = await this.open();
    const stored = await db.get('identity', SLOT);
    if (stored && stored.notAfter - RENEW_BEFORE_MS > now.getTime() && stored.notBefore <= now.getTime()) return fromStored(stored);
    if (stored) {
      // Same key, new certificate: clips signed before stay attributable to the same device.
      const cert = await issueDeviceCertificate({ privateKey: stored.privateKey, publicKey: stored.publicKey }, stored.deviceId, now);
      const renewed: StoredIdentity = { ...stored, certificate: cert.der, notBefore: cert.notBefore.getTime(), notAfter: cert.notAfter.getTime() };
      await db.put('identity', renewed, SLOT);
      return fromStored(renewed);
    }
    const keys = await crypto.subtle.generateKey(ECDSA_P256, false, ['sign', 'verify']);
    const spki = await crypto.subtle.exportKey('spki', keys.publicKey);
    const deviceId = toHex(await crypto.subtle.digest('SHA-256', spki)).slice(0, 16);
    const cert = await issueDeviceCertificate(keys, deviceId, now);
    const fresh: StoredIdentity = { deviceId, privateKey: keys.privateKey, publicKey: keys.publicKey, certificate: cert.der, notBefore: cert.notBefore.getTime(), notAfter: cert.notAfter.getTime() };
    // Another worker or tab may have made one meanwhile: `add` refuses to overwrite, and theirs wins.
    const tx = db.transaction('identity', 'readwrite');
    const winner = (await tx.store.get(SLOT)) ?? (await tx.store.add(fresh, SLOT), fresh);
    await tx.done;
    return fromStored(winner);
  }

  /** Forgets the key (tests; a "reset device identity" control later). */
  async forget(): Promise<void> {
    await (await this.open()).delete('identity', SLOT);
  }
}
