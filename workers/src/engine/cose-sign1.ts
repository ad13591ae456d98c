/**
 * COSE_Sign1 (RFC 9052) for C2PA claim signatures, ES256 with a detached payload, padded to an exact
 * size. c2pa-web hands a JavaScript signer the claim bytes and expects the whole COSE structure back
 * (its WASM signer sets `direct_cose_handling`, https://github.com/contentauth/c2pa-js
 * packages/c2pa-wasm/src/wasm_signer.rs), filling the space it reserved to the byte; this mirrors
 * what c2pa-rs builds for its own signers (crypto/cose/sign.rs: `alg` and `x5chain` protected,
 * zero `pad` unprotected, payload nil).
 */

const COSE_SIGN1_TAG = 18;
const HEADER_ALG = 1;
const HEADER_X5CHAIN = 33;
const ALG_ES256 = -7;

// A minimal deterministic CBOR encoder (RFC 8949 §4.2): just the types COSE_Sign1 needs.
type Cbor = number | string | Uint8Array | null | readonly Cbor[] | CborMap | CborTag;
class CborMap {
  constructor(readonly entries: readonly (readonly [number | string, Cbor])[]) {}
}
class CborTag {
  constructor(
    readonly tag: number,
    readonly value: Cbor,
  ) {}
}

function head(major: number, n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`CBOR length ${n} is out of range`);
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n < 0x100) return [m | 24, n];
  if (n < 0x10000) return [m | 25, n >> 8, n & 0xff];
  return [m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function encodeInto(parts: Uint8Array[], value: Cbor): void {
  const push = (...bytes: number[]) => parts.push(Uint8Array.from(bytes));
  if (value === null) push(0xf6);
  else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError('only integers are encoded');
    push(...(value >= 0 ? head(0, value) : head(1, -1 - value)));
  } else if (typeof value === 'string') {
    const utf8 = new TextEncoder().encode(value);
    push(...head(3, utf8.length));
    parts.push(utf8);
  } else if (value instanceof Uint8Array) {
    push(...head(2, value.length));
    parts.push(value);
  } else if (value instanceof CborMap) {
    push(...head(5, value.entries.length));
    for (const [k, v] of value.entries) {
      encodeInto(parts, k);
      encodeInto(parts, v);
    }
  } else if (value instanceof CborTag) {
    push(...head(6, value.tag));
    encodeInto(parts, value.value);
  } else {
    push(...head(4, value.length));
    for (const item of value) encodeInto(parts, item);
  }
}

function cbor(value: Cbor): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  encodeInto(parts, value);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Bytes a CBOR byte-string head takes for a string of n bytes. */
const bstrHeadBytes = (n: number) => head(2, n).length;

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
  const protectedBytes = cbor(
    new CborMap([
      [HEADER_ALG, ALG_ES256],
      [HEADER_X5CHAIN, x5chain],
    ]),
  );
  const toBeSigned = cbor(['Signature1', protectedBytes, new Uint8Array(0), payload]);
  const signature = await signer.sign(toBeSigned);
  if (signature.length !== 64) throw new RangeError(`an ES256 signature is 64 bytes (r‖s), not ${signature.length}`);
  const sign1 = (unprotected: CborMap) => cbor(new CborTag(COSE_SIGN1_TAG, [protectedBytes, unprotected, null, signature]));

  // Fill the reserved space with one zero `pad` entry: find n with len(base) + len("pad") + head(n) + n = size.
  const base = sign1(new CborMap([])).length;
  const room = size - base - cbor('pad').length;
  for (const headBytes of [1, 2, 3, 5]) {
    const n = room - headBytes;
    if (n >= 0 && bstrHeadBytes(n) === headBytes) {
      const out = sign1(new CborMap([['pad', new Uint8Array(n)]]));
      if (out.length === size) return out;
    }
  }
  if (base === size) return sign1(new CborMap([]));
  throw new RangeError(`a COSE_Sign1 of ${base} bytes cannot be padded to exactly ${size}`);
}
