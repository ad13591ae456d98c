/**
 * Deterministic noise: Philox4x32-10 (Salmon et al., SC'11) feeding Box–Muller.
 *
 * The same bits must come out in the browser, in Node and in the PyTorch training code, so the
 * transform avoids every libm call (`Math.log`, `Math.cos`, … differ between V8's fdlibm port and
 * glibc in the last ulp). It uses only IEEE-754 operations that are correctly rounded everywhere
 * (+, −, ×, ÷, sqrt, exact scaling by 2) in a fixed order, with the polynomial coefficients written
 * as shortest round-trip decimals. `model-shards/training/zoetrope/noise.py` is the twin of this file;
 * `noise-vectors.json` holds the published test vectors both are tested against.
 *
 * Layout: normal number `i` of (seed, stream) comes from Philox block `floor(i / 4)` with counter
 * `[block mod 2^32, floor(block / 2^32), 0, 0]` and key `[seed, stream]`. A block's four words
 * (x0, x1, x2, x3) give four normals: (x0, x1) → r·cos θ, r·sin θ and (x2, x3) likewise, where
 * r = sqrt(−2 ln u), u = (x_even + 0.5)·2⁻³², θ = 2π·x_odd·2⁻³². Each is rounded to float32.
 */

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const UINT32_LIMIT = 0x1_0000_0000;

/** Well-known noise streams, so two tensors of one recipe never share noise. */
export const NOISE_STREAM = Object.freeze({
  videoLatent: 0,
  audioLatent: 1,
  sampler: 2,
});

export type PhiloxCounter = readonly [number, number, number, number];
export type PhiloxKey = readonly [number, number];

/** High 32 bits of the 64-bit product of two uint32s, without BigInt (exact in doubles). */
function mulhi32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const lh = al * bh;
  const hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** One Philox4x32-10 block: four uint32 words from a 128-bit counter and a 64-bit key. */
export function philox4x32(counter: PhiloxCounter, key: PhiloxKey): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter;
  let [k0, k1] = key;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3];
}

const SQRT_HALF = 0.7071067811865476;
const LN2 = 0.6931471805599453;
const HALF_PI = 1.5707963267948966;
const TWO_POW_MINUS_32 = 2.3283064365386963e-10;
const TWO_POW_MINUS_30 = 9.313225746154785e-10;
// 1/(2k+1), k = 11..0, for ln(m) = 2s·Σ s^(2k)/(2k+1) with s = (m−1)/(m+1), |s| ≤ 0.1716.
const LN_COEFFS = [
  0.043478260869565216, 0.047619047619047616, 0.05263157894736842, 0.058823529411764705,
  0.06666666666666667, 0.07692307692307693, 0.09090909090909091, 0.1111111111111111,
  0.14285714285714285, 0.2, 0.3333333333333333, 1.0,
] as const;
// (−1)^k/(2k+1)! and (−1)^k/(2k)!, k = 9..1: Taylor series on |a| ≤ π/4, error < 1e-17.
const SIN_COEFFS = [
  -8.22063524662433e-18, 2.8114572543455206e-15, -7.647163731819816e-13, 1.6059043836821613e-10,
  -2.505210838544172e-8, 2.7557319223985893e-6, -1.984126984126984e-4, 8.333333333333333e-3,
  -0.16666666666666666,
] as const;
const COS_COEFFS = [
  -1.5619206968586225e-16, 4.779477332387385e-14, -1.1470745597729725e-11, 2.08767569878681e-9,
  -2.755731922398589e-7, 2.48015873015873e-5, -1.388888888888889e-3, 0.041666666666666664, -0.5,
] as const;

function horner(coeffs: readonly number[], x: number): number {
  let acc = 0;
  for (const c of coeffs) acc = acc * x + c;
  return acc;
}

/** Natural log of u ∈ (0, 1) from exact power-of-two reduction and an atanh series. */
function lnUnit(u: number): number {
  let m = u;
  let e = 0;
  while (m < SQRT_HALF) {
    m *= 2;
    e -= 1;
  }
  const s = (m - 1) / (m + 1);
  const p = horner(LN_COEFFS, s * s);
  return e * LN2 + 2 * s * p;
}

/** Writes the two normals of one uniform pair (xr → radius, xa → angle) into out[at], out[at+1]. */
function boxMuller(xr: number, xa: number, out: Float32Array, at: number, from: number, to: number): void {
  const r = Math.sqrt(-2 * lnUnit((xr + 0.5) * TWO_POW_MINUS_32));
  // θ = 2π·xa/2³² = (π/2)·t with t = xa/2³⁰ ∈ [0, 4): reduce exactly to a quadrant q and |a| ≤ π/4.
  const t = xa * TWO_POW_MINUS_30;
  const q = Math.floor(t + 0.5);
  const a = (t - q) * HALF_PI;
  const a2 = a * a;
  const sinA = a + a * a2 * horner(SIN_COEFFS, a2);
  const cosA = 1 + a2 * horner(COS_COEFFS, a2);
  let cos: number;
  let sin: number;
  switch (q & 3) {
    case 0: cos = cosA; sin = sinA; break;
    case 1: cos = -sinA; sin = cosA; break;
    case 2: cos = -cosA; sin = -sinA; break;
    default: cos = sinA; sin = -cosA; break;
  }
  if (at >= from && at < to) out[at - from] = r * cos;
  if (at + 1 >= from && at + 1 < to) out[at + 1 - from] = r * sin;
}

/**
 * `count` standard-normal float32 values of (seed, stream), starting at element `offset`.
 * Any slice equals the same slice of a longer draw, so tensors can be filled piecewise.
 */
export function gaussianNoise(seed: number, stream: number, count: number, offset = 0): Float32Array {
  for (const [name, value] of [['seed', seed], ['stream', stream]] as const) {
    if (!Number.isInteger(value) || value < 0 || value >= UINT32_LIMIT) {
      throw new RangeError(`noise ${name} must be an integer 0–4294967295 (got ${value})`);
    }
  }
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`noise count must be a non-negative integer (got ${count})`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`noise offset must be a non-negative integer (got ${offset})`);
  const out = new Float32Array(count);
  const end = offset + count;
  const key: PhiloxKey = [seed, stream];
  for (let block = Math.floor(offset / 4); block * 4 < end; block++) {
    const [x0, x1, x2, x3] = philox4x32([block % UINT32_LIMIT, Math.floor(block / UINT32_LIMIT), 0, 0], key);
    boxMuller(x0, x1, out, block * 4, offset, end);
    boxMuller(x2, x3, out, block * 4 + 2, offset, end);
  }
  return out;
}
