import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { gaussianNoise, philox4x32, sha256Hex, type PhiloxCounter, type PhiloxKey } from '../../contracts/index.ts';

interface Vectors {
  philox4x32_10: { counter: string[]; key: string[]; output: string[] }[];
  normals: { seed: number; stream: number; offset: number; count: number; float32Bits: string[] }[];
  digests: { seed: number; stream: number; offset: number; count: number; sha256OfFloat32LE: string }[];
}
const vectors = JSON.parse(await readFile(new URL('../../contracts/noise-vectors.json', import.meta.url), 'utf8')) as Vectors;

const words = (hex: string[]) => hex.map((h) => parseInt(h, 16));
const bitsOf = (values: Float32Array) => Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length), (b) => b.toString(16).padStart(8, '0'));

describe('deterministic noise', () => {
  it('matches the Random123 Philox4x32-10 known answers', () => {
    for (const kat of vectors.philox4x32_10) {
      expect(philox4x32(words(kat.counter) as unknown as PhiloxCounter, words(kat.key) as unknown as PhiloxKey)).toEqual(words(kat.output));
    }
  });

  it('reproduces the published normals bit for bit', () => {
    for (const c of vectors.normals) expect(bitsOf(gaussianNoise(c.seed, c.stream, c.count, c.offset))).toEqual(c.float32Bits);
  });

  it('reproduces the published long-draw digest', async () => {
    for (const c of vectors.digests) {
      const values = gaussianNoise(c.seed, c.stream, c.count, c.offset);
      expect(await sha256Hex(new Uint8Array(values.buffer))).toBe(c.sha256OfFloat32LE);
    }
  });

  it('gives any slice equal to the same slice of a longer draw', () => {
    const whole = gaussianNoise(11, 0, 1000);
    for (const [offset, count] of [[0, 1], [1, 3], [3, 10], [517, 483], [999, 1]] as const) {
      expect(gaussianNoise(11, 0, count, offset)).toEqual(whole.subarray(offset, offset + count));
    }
  });

  it('is standard normal: mean, variance, tails and the normal CDF agree', () => {
    const n = 200_000;
    const z = gaussianNoise(1234, 0, n);
    let sum = 0;
    let sumSq = 0;
    let sum4 = 0;
    for (const v of z) {
      sum += v;
      sumSq += v * v;
      sum4 += v ** 4;
    }
    const mean = sum / n;
    const variance = sumSq / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n)); // 5 standard errors
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(sum4 / n - 3)).toBeLessThan(0.1); // kurtosis of a normal
    // Kolmogorov–Smirnov against Φ (erf by Abramowitz–Stegun 7.1.26, |ε| < 1.5e-7).
    const erf = (x: number) => {
      const t = 1 / (1 + 0.3275911 * Math.abs(x));
      const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
      return x >= 0 ? y : -y;
    };
    const sorted = Float64Array.from(z).sort();
    let d = 0;
    sorted.forEach((v, i) => {
      const cdf = 0.5 * (1 + erf(v / Math.SQRT2));
      d = Math.max(d, Math.abs(cdf - i / n), Math.abs(cdf - (i + 1) / n));
    });
    expect(d).toBeLessThan(1.95 / Math.sqrt(n)); // KS critical value at α = 0.001
  });

  it('keeps streams and seeds independent', () => {
    const a = gaussianNoise(5, 0, 10_000);
    const b = gaussianNoise(5, 1, 10_000);
    const c = gaussianNoise(6, 0, 10_000);
    const corr = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * (y[i] ?? 0), 0) / x.length;
    expect(Math.abs(corr(a, b))).toBeLessThan(0.05);
    expect(Math.abs(corr(a, c))).toBeLessThan(0.05);
  });

  it('refuses arguments outside the contract, naming them', () => {
    expect(() => gaussianNoise(-1, 0, 4)).toThrow('noise seed must be an integer 0–4294967295');
    expect(() => gaussianNoise(0, 2 ** 32, 4)).toThrow('noise stream must be an integer');
    expect(() => gaussianNoise(0, 0, 1.5)).toThrow('noise count must be a non-negative integer');
    expect(() => gaussianNoise(0, 0, 4, -4)).toThrow('noise offset must be a non-negative integer');
  });
});
