/**
 * COSE_Sign1 (RFC 9052) for C2PA claim signatures, ES256 with a detached payload, padded to an exact
 * size. c2pa-web hands a JavaScript signer the claim bytes and expects the whole COSE structure back
 * (its WASM signer sets `direct_cose_handling`, https://github.com/contentauth/c2pa-js
 * packages/c2pa-wasm/src/wasm_signer.rs), filling the space it reserved to the byte; this mirrors
 * what c2pa-rs builds for its own signers (crypto/cose/sign.rs: `alg` and `x5chain` protected,
 * zero `pad` unprotected, payload nil).
 */

import { cborHead, CborTag, encodeCbor, type Cbor } from './cbor.ts';

const COSE_SIGN1_TAG = 18;
const HEADER_ALG = 1;
const HEADER_X5CHAIN = 33;
const ALG_ES256 = -7;

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

/** A tagged COSE_Sign1 over `payload` (detached), exactly `size` bytes long. */
export async function coseSign1Es256(payload: Uint8Array, signer: CoseEs256Signer, size: number): Promise<Uint8Array<ArrayBuffer>> {
  const [first, ...rest] = signer.certificates;
  if (!first) throw new RangeError('a COSE signer needs at least one certificate');
  const x5chain: Cbor = rest.length === 0 ? first : [first, ...rest];
  const protectedBytes = encodeCbor(
    new Map<number | string, Cbor>([
      [HEADER_ALG, ALG_ES256],
      [HEADER_X5CHAIN, x5chain],
    ]),
  );
  const toBeSigned = encodeCbor(['Signature1', protectedBytes, new Uint8Array(0), payload]);
  const signature = await signer.sign(toBeSigned);
  if (signature.length !== 64) throw new RangeError(`an ES256 signature is 64 bytes (r‖s), not ${signature.length}`);
  const sign1 = (unprotected: ReadonlyMap<number | string, Cbor>) => encodeCbor(new CborTag(COSE_SIGN1_TAG, [protectedBytes, unprotected, null, signature]));

  // Fill the reserved space with one zero `pad` entry: find n with len(base) + len("pad") + head(n) + n = size.
  const base = sign1(new Map()).length;
  const room = size - base - encodeCbor('pad').length;
  for (const headBytes of [1, 2, 3, 5]) {
    const n = room - headBytes;
    if (n >= 0 && bstrHeadBytes(n) === headBytes) {
      const out = sign1(new Map([['pad', new Uint8Array(n)]]));
      if (out.length === size) return out;
    }
  }
  if (base === size) return sign1(new Map());
  throw new RangeError(`a COSE_Sign1 of ${base} bytes cannot be padded to exactly ${size}`);
}
