/**
 * The device's signing identity for C2PA manifests: an ECDSA P-256 key made by WebCrypto with a
 * non-extractable private half, kept in IndexedDB (one per browser profile), and a self-signed X.509
 * certificate for it, reissued for the same key when it nears expiry.
 *
 * The certificate (contracts/c2pa-certificate.ts) meets c2pa-rs's end-entity profile
 * (crypto/cose/certificate_profile.rs): v3, ecdsa-with-SHA256 over P-256, CA:FALSE, keyUsage
 * digitalSignature (critical), an allowed EKU (id-kp-documentSigning), and an authority key
 * identifier (required even on a self-signed certificate). Nobody's trust list holds it, so
 * validators report the signature as valid and the signer as untrusted; a clip can be signed with
 * the instance's key instead (provenance.ts `signWithInstanceKey`).
 */
import { issueSigningCertificate } from '../../../contracts/c2pa-certificate.ts';
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

const ECDSA_P256: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
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

/** A self-signed end-entity certificate for `keys`, valid from `now` (less 5 minutes of clock skew) for a year. */
export function issueDeviceCertificate(keys: CryptoKeyPair, deviceId: string, now: Date): Promise<{ der: Uint8Array<ArrayBuffer>; notBefore: Date; notAfter: Date }> {
  return issueSigningCertificate(keys, { commonName: `Zoetrope device ${deviceId.slice(0, 8)}`, organization: 'Zoetrope', lifetimeDays: DEVICE_CERTIFICATE_LIFETIME_DAYS }, now);
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
