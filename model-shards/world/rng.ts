import { philox4x32 } from '../../contracts/index.ts';

/**
 * A seeded stream of uniform numbers from Philox4x32-10 (contracts/noise.ts), for choices that
 * must be reproducible from a seed: scene sampling, textures, variations. Never Math.random.
 */
export class SeededRandom {
  private block = 0;
  private words: number[] = [];

  constructor(
    readonly seed: number,
    readonly stream: number,
  ) {}

  /** A uniform uint32. */
  uint32(): number {
    if (this.words.length === 0) {
      this.words = philox4x32([this.block % 0x1_0000_0000, Math.floor(this.block / 0x1_0000_0000), 0, 0], [this.seed >>> 0, this.stream >>> 0]);
      this.block++;
    }
    return this.words.shift() ?? 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('cannot pick from an empty list');
    return item;
  }

  /** A pick weighted by `weights` (same length as `items`). */
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    const total = weights.reduce((a, b) => a + b, 0);
    let u = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      u -= weights[i] ?? 0;
      if (u < 0) return items[i] as T;
    }
    return items[items.length - 1] as T;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}
