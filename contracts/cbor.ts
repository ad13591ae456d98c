/**
 * A minimal deterministic CBOR encoder (RFC 8949 §4.2) for what Zoetrope writes: COSE_Sign1 for C2PA
 * claims here, and WebAuthn attestation objects in the tests' software authenticator. Integers,
 * text and byte strings, null, arrays, maps (keys written in insertion order) and tags.
 */
export type Cbor = number | string | Uint8Array | null | readonly Cbor[] | ReadonlyMap<number | string, Cbor> | CborTag;

export class CborTag {
  constructor(
    readonly tag: number,
    readonly value: Cbor,
  ) {}
}

/** The head of a data item: major type and argument (at most 4 bytes of argument). */
export function cborHead(major: number, n: number): number[] {
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
    if (!Number.isInteger(value)) throw new TypeError(`CBOR: only integers are encoded (got ${value})`);
    push(...(value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value)));
  } else if (typeof value === 'string') {
    const utf8 = new TextEncoder().encode(value);
    push(...cborHead(3, utf8.length));
    parts.push(utf8);
  } else if (value instanceof Uint8Array) {
    push(...cborHead(2, value.length));
    parts.push(value);
  } else if (value instanceof CborTag) {
    push(...cborHead(6, value.tag));
    encodeInto(parts, value.value);
  } else if (value instanceof Map) {
    push(...cborHead(5, value.size));
    for (const [k, v] of value as ReadonlyMap<number | string, Cbor>) {
      encodeInto(parts, k);
      encodeInto(parts, v);
    }
  } else {
    const items = value as readonly Cbor[];
    push(...cborHead(4, items.length));
    for (const item of items) encodeInto(parts, item);
  }
}

export function encodeCbor(value: Cbor): Uint8Array<ArrayBuffer> {
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
