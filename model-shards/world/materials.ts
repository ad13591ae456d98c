import type { Material, Setting } from './scene.ts';

/**
 * Physical, visual and acoustic properties of everything that moves or is hit. Sizes are stylised
 * (a tennis ball is larger than life) so every object stays visible at 128×128.
 */

/** One mode of modal synthesis: a damped sinusoid. */
export interface Mode {
  readonly freqHz: number;
  /** Exponential decay rate, 1/s (amplitude ∝ e^(−decay·t)). */
  readonly decayPerS: number;
  readonly gain: number;
}

export interface Acoustics {
  readonly modes: readonly Mode[];
  /** Share of a short noise burst in the attack (0: pure tone, 1: pure click/thud). */
  readonly noise: number;
  /** Loudness per N·s of contact impulse, before the shared loudness curve. */
  readonly loudness: number;
}

export interface MaterialSpec {
  readonly shape: 'ball' | 'box';
  /** Radius of a ball, half the side of a box, m. */
  readonly size: number;
  readonly massKg: number;
  readonly restitution: number;
  readonly friction: number;
  /** Rolling resistance (Rapier angular damping). */
  readonly angularDamping: number;
  readonly acoustics: Acoustics;
  /** Seams (basketball), finger holes (bowling ball), felt line (tennis ball), grain (box). */
  readonly pattern: 'plain' | 'seams' | 'holes' | 'felt' | 'grain';
}

export const MATERIAL_SPECS: Readonly<Record<Material, MaterialSpec>> = Object.freeze({
  'rubber ball': {
    shape: 'ball', size: 0.15, massKg: 0.3, restitution: 0.8, friction: 0.8, angularDamping: 0.3, pattern: 'plain',
    acoustics: { modes: [{ freqHz: 190, decayPerS: 30, gain: 1 }, { freqHz: 470, decayPerS: 45, gain: 0.45 }, { freqHz: 1100, decayPerS: 70, gain: 0.15 }], noise: 0.25, loudness: 1.4 },
  },
  basketball: {
    shape: 'ball', size: 0.2, massKg: 0.6, restitution: 0.76, friction: 0.9, angularDamping: 0.3, pattern: 'seams',
    acoustics: { modes: [{ freqHz: 125, decayPerS: 22, gain: 1 }, { freqHz: 290, decayPerS: 30, gain: 0.5 }, { freqHz: 660, decayPerS: 18, gain: 0.35 }], noise: 0.3, loudness: 1.0 },
  },
  'bowling ball': {
    shape: 'ball', size: 0.17, massKg: 6, restitution: 0.22, friction: 0.35, angularDamping: 0.05, pattern: 'holes',
    acoustics: { modes: [{ freqHz: 85, decayPerS: 14, gain: 1 }, { freqHz: 210, decayPerS: 20, gain: 0.6 }, { freqHz: 520, decayPerS: 35, gain: 0.3 }], noise: 0.45, loudness: 0.22 },
  },
  'tennis ball': {
    shape: 'ball', size: 0.13, massKg: 0.06, restitution: 0.73, friction: 0.7, angularDamping: 0.4, pattern: 'felt',
    acoustics: { modes: [{ freqHz: 820, decayPerS: 90, gain: 1 }, { freqHz: 1650, decayPerS: 120, gain: 0.4 }], noise: 0.5, loudness: 5.5 },
  },
  'wooden box': {
    shape: 'box', size: 0.18, massKg: 2, restitution: 0.2, friction: 0.65, angularDamping: 0.5, pattern: 'grain',
    acoustics: { modes: [{ freqHz: 310, decayPerS: 40, gain: 1 }, { freqHz: 720, decayPerS: 60, gain: 0.6 }, { freqHz: 1530, decayPerS: 90, gain: 0.3 }], noise: 0.4, loudness: 0.7 },
  },
});

/** The fixed parts of the stage that objects hit. */
export const SURFACES = ['floor', 'wall', 'ramp', 'rim', 'backboard', 'net', 'box', 'ball', 'character'] as const;
export type Surface = (typeof SURFACES)[number];

export const SURFACE_ACOUSTICS: Readonly<Record<Exclude<Surface, 'box' | 'ball' | 'floor'>, Acoustics>> = Object.freeze({
  wall: { modes: [{ freqHz: 140, decayPerS: 35, gain: 1 }, { freqHz: 380, decayPerS: 50, gain: 0.4 }], noise: 0.5, loudness: 0.8 },
  ramp: { modes: [{ freqHz: 240, decayPerS: 30, gain: 1 }, { freqHz: 610, decayPerS: 45, gain: 0.5 }], noise: 0.4, loudness: 0.9 },
  rim: { modes: [{ freqHz: 1180, decayPerS: 6, gain: 1 }, { freqHz: 2650, decayPerS: 9, gain: 0.6 }, { freqHz: 3900, decayPerS: 14, gain: 0.3 }], noise: 0.1, loudness: 1.2 },
  backboard: { modes: [{ freqHz: 380, decayPerS: 25, gain: 1 }, { freqHz: 1750, decayPerS: 40, gain: 0.35 }], noise: 0.35, loudness: 1.1 },
  net: { modes: [], noise: 1, loudness: 0.5 },
  character: { modes: [{ freqHz: 160, decayPerS: 60, gain: 1 }], noise: 0.6, loudness: 0.4 },
});

/** Floors differ by setting: restitution scales object bounces, acoustics colour the impact. */
export const FLOORS: Readonly<Record<Setting, { readonly restitution: number; readonly friction: number; readonly acoustics: Acoustics }>> = Object.freeze({
  gym: { restitution: 1, friction: 0.7, acoustics: { modes: [{ freqHz: 210, decayPerS: 28, gain: 1 }, { freqHz: 540, decayPerS: 40, gain: 0.45 }], noise: 0.35, loudness: 1 } },
  'street court': { restitution: 0.95, friction: 0.9, acoustics: { modes: [{ freqHz: 160, decayPerS: 60, gain: 0.7 }], noise: 0.7, loudness: 0.9 } },
  park: { restitution: 0.7, friction: 1, acoustics: { modes: [{ freqHz: 95, decayPerS: 70, gain: 0.6 }], noise: 0.8, loudness: 0.5 } },
  garage: { restitution: 0.97, friction: 0.75, acoustics: { modes: [{ freqHz: 180, decayPerS: 45, gain: 0.8 }, { freqHz: 900, decayPerS: 80, gain: 0.25 }], noise: 0.55, loudness: 1 } },
});
