/**
 * COSE_Sign1 (RFC 9052) for C2PA claim signatures, ES256 with a detached payload, padded to an exact
 * size. c2pa-web hands a JavaScript signer the claim bytes and expects the whole COSE structure back
 * (its WASM signer sets `direct_cose_handling`, https://github.com/contentauth/c2pa-js
 * packages/c2pa-wasm/src/wasm_signer.rs), filling the space it reserved to the byte; this mirrors
 * what c2pa-rs builds for its own signers (crypto/cose/sign.rs: `alg` and `x5chain` protected,
 * zero `pad` unprotected, payload nil). Used by the device signer (workers/) and the instance's
 * signer (edge/ POST /api/provenance/sign).
 */

import { cborHead, CborTag, encodeCbor, type Cbor } from './cbor.ts';

const COSE_SIGN1_TAG = 18;
const HEADER_ALG = 1;
const HEADER_X5CHAIN = 33;
const ALG_ES256 = -7;
const ES256_SIGNATURE_BYTES = 64;

/** Bytes a CBOR byte-string head takes for a string of n bytes. */
const bstrHeadBytes = (n: number) => cborHead(2, n).length;

export interface CoseEs256Signer {
  /** The end-entity certificate first, then any intermediates (DER). */
  readonly certificates: readonly Uint8Array[];
  /** ES256 over `data`, as IEEE P1363 r‖s (64 bytes): what WebCrypto's ECDSA returns and what COSE wants. */
  sign(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array>;
}

/** Space to reserve in the manifest for a COSE_Sign1 carrying these certificates (no time stamp). */
export function coseSign1ReserveSize(certificates: readonly Uint8Array[]): number {
  return certificates.reduce((n, c) => n + c.length, 0) + 64 + 512;
}

function protectedHeader(certificates: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const [first, ...rest] = certificates;
  if (!first) throw new RangeError('a COSE signer needs at least one certificate');
  const x5chain: Cbor = rest.length === 0 ? first : [first, ...rest];
  return encodeCbor(
    new Map<number | string, Cbor>([
      [HEADER_ALG, ALG_ES256],
      [HEADER_X5CHAIN, x5chain],
    ]),
  );
}

const sign1 = (protectedBytes: Uint8Array, signature: Uint8Array, pad: number | null) =>
  encodeCbor(new CborTag(COSE_SIGN1_TAG, [protectedBytes, pad === null ? new Map() : new Map([['pad', new Uint8Array(pad)]]), null, signature]));

/** The zero padding that makes the COSE_Sign1 exactly `size` bytes: a `pad` length, null for none, undefined if no single pad entry can. */
function padFor(protectedBytes: Uint8Array, size: number): number | null | undefined {
  // Every ES256 signature is 64 bytes, so the layout is known before signing.
  const placeholder = new Uint8Array(ES256_SIGNATURE_BYTES);
  const base = sign1(protectedBytes, placeholder, null).length;
  if (base === size) return null;
  // Find n with len(base) + len("pad") + head(n) + n = size.
  const room = size - base - encodeCbor('pad').length;
  for (const headBytes of [1, 2, 3, 5]) {
    const n = room - headBytes;
    if (n >= 0 && bstrHeadBytes(n) === headBytes && sign1(protectedBytes, placeholder, n).length === size) return n;
  }
  return undefined;
}

/** The smallest COSE_Sign1 carrying these certificates (no padding). */
export function coseSign1MinimumSize(certificates: readonly Uint8Array[]): number {
  return sign1(protectedHeader(certificates), new Uint8Array(ES256_SIGNATURE_BYTES), null).length;
}

/** Whether a COSE_Sign1 carrying these certificates can be padded to exactly `size` bytes (a few sizes just above the minimum cannot). */
export function coseSign1Fits(certificates: readonly Uint8Array[], size: number): boolean {
  return Number.isSafeInteger(size) && padFor(protectedHeader(certificates), size) !== undefined;
}

/** A tagged COSE_Sign1 over `payload` (detached), exactly `size` bytes long; a size it cannot fill is refused before signing. */
export async function coseSign1Es256(payload: Uint8Array, signer: CoseEs256Signer, size: number): Promise<Uint8Array<ArrayBuffer>> {
  const protectedBytes = protectedHeader(signer.certificates);
  const pad = padFor(protectedBytes, size);
  if (pad === undefined) throw new RangeError(`a COSE_Sign1 of ${coseSign1MinimumSize(signer.certificates)} bytes cannot be padded to exactly ${size}`);
  const toBeSigned = encodeCbor(['Signature1', protectedBytes, new Uint8Array(0), payload]);
  const signature = await signer.sign(toBeSigned);
  if (signature.length !== ES256_SIGNATURE_BYTES) throw new RangeError(`an ES256 signature is 64 bytes (r‖s), not ${signature.length}`);
  return sign1(protectedBytes, signature, pad);
}
