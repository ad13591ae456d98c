import { ValidationError } from '../../contracts/index.ts';
import type { Rgb } from './palette.ts';
import type { SeededRandom } from './rng.ts';
import type { Scene } from './scene.ts';

/**
 * Cameos: a user's reference image of a face conditions the model, so training clips need figures
 * that wear a random face, saved with the clip as its reference image. randomAppearance draws one:
 * what a selfie looks like downscaled to 16 × 16 — a backdrop, a face oval in a skin tone, hair,
 * eyes, now and then glasses, a hat or a beard. At 128 px the figure's head is ~7 px across, so
 * what tells faces apart is their colour layout (skin, hair, backdrop, shirt), not their features.
 */

/** Side of the reference images the dataset exports (shard-*.appearance.npy is [n, 16, 16, 3]). */
export const APPEARANCE_SIDE = 16;

/** A character's appearance texture: width × height RGBA bytes, base64 (see scene.ts). */
export type Appearance = NonNullable<NonNullable<Scene['character']>['appearance']>;

const SIDE_LIMITS = [4, 256] as const;

/**
 * The Monk Skin Tone scale's ten swatches, lightest to deepest (Google, skintone.google): a face's
 * skin is drawn anywhere between two neighbours, so the whole human range comes up evenly.
 */
const SKIN_TONES: readonly Rgb[] = [
  [246, 237, 228],
  [243, 231, 219],
  [247, 234, 208],
  [234, 218, 186],
  [215, 189, 150],
  [160, 126, 86],
  [130, 92, 67],
  [96, 65, 52],
  [58, 49, 42],
  [41, 36, 32],
];

const NATURAL_HAIR: readonly { rgb: Rgb; weight: number }[] = [
  { rgb: [24, 20, 18], weight: 0.3 }, // black
  { rgb: [58, 40, 30], weight: 0.2 }, // dark brown
  { rgb: [96, 64, 40], weight: 0.14 }, // brown
  { rgb: [140, 102, 66], weight: 0.07 }, // light brown
  { rgb: [196, 160, 100], weight: 0.06 }, // blond
  { rgb: [226, 208, 160], weight: 0.03 }, // platinum blond
  { rgb: [128, 54, 32], weight: 0.04 }, // auburn
  { rgb: [176, 88, 44], weight: 0.04 }, // ginger
  { rgb: [150, 148, 144], weight: 0.07 }, // grey
  { rgb: [214, 212, 206], weight: 0.05 }, // white
];

/** Dyed hair, now and then. Saturations stay moderate: the renderer mutes faces, but not to grey. */
const DYED_HAIR: readonly Rgb[] = [
  [206, 96, 156], // pink
  [74, 110, 196], // blue
  [70, 150, 108], // green
  [128, 82, 176], // purple
  [60, 150, 160], // teal
];

const HAIR_STYLES = ['short', 'long', 'fringe', 'volume', 'bald'] as const;
type HairStyle = (typeof HAIR_STYLES)[number];

const BACKDROPS = ['wall', 'painted wall', 'sky', 'greenery', 'dark room', 'wood'] as const;
type Backdrop = (typeof BACKDROPS)[number];

/** HSL (h in degrees, s and l in 0–1) to RGB 0–255. */
function hsl(h: number, s: number, l: number): Rgb {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = (((h % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r, g, b] = hp < 1 ? [c, x, 0] : hp < 2 ? [x, c, 0] : hp < 3 ? [0, c, x] : hp < 4 ? [0, x, c] : hp < 5 ? [x, 0, c] : [c, 0, x];
  const m = l - c / 2;
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

const mix = (a: Rgb, b: Rgb, u: number): Rgb => [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
const scale = (a: Rgb, k: number): Rgb => [a[0] * k, a[1] * k, a[2] * k];
const jitter = (rng: SeededRandom, a: Rgb, amount: number): Rgb => [a[0] + rng.uniform(-amount, amount), a[1] + rng.uniform(-amount, amount), a[2] + rng.uniform(-amount, amount)];

/** Inside the ellipse centred (cx, cy) with radii (rx, ry). */
/**
 * The physics bench takes pixels of HSV saturation ≥ 0.5 for moving objects (bench/video-analysis.ts).
 * The renderer mutes a face to 35 % chroma, which at ≤ 0.6 here keeps it ≤ 0.42 even under a
 * 2900 K sunset's tint, so a red beard or a teal wall never reads as a ball.
 */
const MAX_SATURATION = 0.6;

/** Pulls `c` towards its own grey until its HSV saturation is at most MAX_SATURATION. */
function capSaturation(c: Rgb): Rgb {
  const max = Math.max(...c);
  const min = Math.min(...c);
  if (max <= 0 || max - min <= MAX_SATURATION * max) return c;
  const y = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  // Scaling chroma by k about y: (max − min)·k = S·(y + (max − y)·k).
  const k = (MAX_SATURATION * y) / (max - min - MAX_SATURATION * (max - y));
  return [y + (c[0] - y) * k, y + (c[1] - y) * k, y + (c[2] - y) * k];
}

const inEllipse = (u: number, v: number, cx: number, cy: number, rx: number, ry: number) => ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2 <= 1;

/** The backdrop as a function of (u, v) in the unit square, v down. */
function drawBackdrop(rng: SeededRandom): (u: number, v: number) => Rgb {
  const kind: Backdrop = rng.weighted(BACKDROPS, [0.28, 0.14, 0.15, 0.15, 0.16, 0.12]);
  let top: Rgb;
  let bottom: Rgb;
  switch (kind) {
    case 'wall': {
      const h = rng.uniform(0, 360);
      top = hsl(h, rng.uniform(0.03, 0.3), rng.uniform(0.72, 0.93));
      bottom = scale(top, rng.uniform(0.82, 1));
      break;
    }
    case 'painted wall': {
      const h = rng.uniform(0, 360);
      top = hsl(h, rng.uniform(0.3, 0.55), rng.uniform(0.42, 0.7));
      bottom = scale(top, rng.uniform(0.8, 1));
      break;
    }
    case 'sky':
      top = hsl(rng.uniform(198, 222), rng.uniform(0.45, 0.7), rng.uniform(0.5, 0.66));
      bottom = hsl(rng.uniform(195, 215), rng.uniform(0.3, 0.55), rng.uniform(0.72, 0.86));
      break;
    case 'greenery':
      top = hsl(rng.uniform(75, 140), rng.uniform(0.3, 0.55), rng.uniform(0.22, 0.42));
      bottom = hsl(rng.uniform(75, 140), rng.uniform(0.25, 0.5), rng.uniform(0.15, 0.35));
      break;
    case 'dark room':
      top = hsl(rng.uniform(0, 360), rng.uniform(0, 0.3), rng.uniform(0.04, 0.2));
      bottom = scale(top, rng.uniform(0.6, 1));
      break;
    case 'wood':
      top = hsl(rng.uniform(18, 40), rng.uniform(0.3, 0.5), rng.uniform(0.3, 0.52));
      bottom = scale(top, rng.uniform(0.75, 1));
      break;
  }
  // Leaves are mottled light and shade: a coarse grid of random levels, smoothly interpolated.
  const grid = 5;
  const mottle = kind === 'greenery' ? Array.from({ length: grid * grid }, () => rng.uniform(0.7, 1.3)) : undefined;
  return (u, v) => {
    const base = mix(top, bottom, v);
    if (!mottle) return base;
    const gx = u * (grid - 1);
    const gy = v * (grid - 1);
    const x0 = Math.min(grid - 2, Math.floor(gx));
    const y0 = Math.min(grid - 2, Math.floor(gy));
    const fx = gx - x0;
    const fy = gy - y0;
    const at = (x: number, y: number) => mottle[y * grid + x] ?? 1;
    const k = (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
    return scale(base, k);
  };
}

/**
 * A random face as an opaque `side` × `side` RGBA image, deterministic from `rng`'s stream. Draws
 * a fixed number of values per face kind, so nothing else should share the stream it is given.
 */
export function randomAppearance(rng: SeededRandom, side: number = APPEARANCE_SIDE): Appearance {
  const [minSide, maxSide] = SIDE_LIMITS;
  if (!Number.isInteger(side) || side < minSide || side > maxSide) {
    throw new ValidationError([{ field: 'side', message: `must be an integer ${minSide}–${maxSide} (got ${String(side)})` }]);
  }
  const backdrop = drawBackdrop(rng);

  // Face oval, in the unit square (v down), a little off centre as a hand-held selfie is.
  const cx = 0.5 + rng.uniform(-0.04, 0.04);
  const cy = 0.47 + rng.uniform(-0.03, 0.03);
  const rx = rng.uniform(0.23, 0.29);
  const ry = rx * rng.uniform(1.18, 1.36);
  const toneAt = rng.uniform(0, SKIN_TONES.length - 1);
  const lo = Math.floor(toneAt);
  const skin = jitter(rng, mix(SKIN_TONES[lo] ?? [0, 0, 0], SKIN_TONES[Math.min(SKIN_TONES.length - 1, lo + 1)] ?? [0, 0, 0], toneAt - lo), 6);
  // Light from one side: faces and hair are brighter towards it.
  const sideLight = rng.uniform(-0.16, 0.16);
  const lit = (c: Rgb, u: number): Rgb => scale(c, 1 + (sideLight * (u - cx)) / rx);

  const natural = jitter(rng, rng.weighted(NATURAL_HAIR.map((h) => h.rgb), NATURAL_HAIR.map((h) => h.weight)), 8);
  const hair = rng.chance(0.08) ? jitter(rng, rng.pick(DYED_HAIR), 10) : natural;
  const style: HairStyle = rng.weighted(HAIR_STYLES, [0.32, 0.24, 0.2, 0.12, 0.12]);
  // Where the hair meets the forehead, as a share of ry above the centre: lower for a fringe.
  const hairline = style === 'fringe' ? rng.uniform(0.1, 0.25) : rng.uniform(0.38, 0.55);
  const slant = style === 'fringe' ? rng.uniform(-0.25, 0.25) : 0;
  const shirt = hsl(rng.uniform(0, 360), rng.uniform(0.05, 0.55), rng.uniform(0.15, 0.75));

  const glasses = rng.chance(0.22) ? { sun: rng.chance(0.25), frame: rng.pick<Rgb>([[22, 22, 24], [92, 62, 42], [168, 168, 174], hsl(rng.uniform(0, 360), 0.45, 0.4)]) } : undefined;
  const hat = rng.chance(0.15) ? { colour: hsl(rng.uniform(0, 360), rng.uniform(0.1, 0.55), rng.uniform(0.18, 0.7)), line: rng.uniform(0.3, 0.5), brim: rng.chance(0.5) } : undefined;
  const beard = rng.chance(0.15) ? { colour: natural, top: rng.uniform(0.15, 0.4) } : undefined;

  const eyeY = cy - ry * 0.04;
  const eyeDx = rx * 0.4;
  const eyeR = 0.05;
  const eyeRgb: Rgb = [30, 24, 22];
  const mouthRgb = mix(skin, [120, 40, 40], 0.45);

  const inFace = (u: number, v: number) => inEllipse(u, v, cx, cy, rx, ry);
  const aboveHairline = (u: number, v: number) => v < cy - ry * hairline + ry * 0.15 * ((u - cx) / rx) ** 2 + slant * (u - cx);
  const inHairFront = (u: number, v: number) => style !== 'bald' && inEllipse(u, v, cx, cy - ry * 0.06, rx * 1.1, ry * 1.04) && aboveHairline(u, v);
  const inHairBack = (u: number, v: number) =>
    (style === 'long' && (inEllipse(u, v, cx, cy, rx * 1.28, ry * 1.1) || (Math.abs(u - cx) < rx * 1.28 && v > cy && v < cy + ry * 1.7))) ||
    (style === 'volume' && inEllipse(u, v, cx, cy - ry * 0.15, rx * 1.5, ry * 1.22));
  const inNeck = (u: number, v: number) => Math.abs(u - cx) < rx * 0.45 && v > cy && v < cy + ry * 1.5;
  const inShirt = (u: number, v: number) => inEllipse(u, v, cx, cy + ry + 0.38, 0.62, 0.36);
  const nearEye = (u: number, v: number, r: number) => Math.hypot(u - (cx - eyeDx), v - eyeY) < r || Math.hypot(u - (cx + eyeDx), v - eyeY) < r;
  const inGlasses = (u: number, v: number) => {
    if (glasses === undefined) return false;
    const d = Math.min(Math.hypot(u - (cx - eyeDx), v - eyeY), Math.hypot(u - (cx + eyeDx), v - eyeY));
    const bridge = Math.abs(u - cx) < eyeDx && Math.abs(v - eyeY) < 0.018;
    return bridge || (d < 0.105 && (glasses.sun || d > 0.072));
  };
  const inHat = (u: number, v: number) =>
    hat !== undefined && ((inEllipse(u, v, cx, cy - ry * 0.2, rx * 1.16, ry * 1.02) && v < cy - ry * hat.line) || (hat.brim && Math.abs(u - cx) < rx * 1.3 && Math.abs(v - (cy - ry * hat.line)) < 0.035));
  const inBeard = (u: number, v: number) => beard !== undefined && inEllipse(u, v, cx, cy + ry * 0.04, rx * 1.04, ry * 1.05) && v > cy + ry * beard.top;
  const inMouth = (u: number, v: number) => inEllipse(u, v, cx, cy + ry * 0.52, rx * 0.32, 0.028);

  /** Front to back: the first layer that covers (u, v) gives its colour. */
  const colourAt = (u: number, v: number): Rgb => {
    if (inHat(u, v)) return lit(hat?.colour ?? hair, u);
    if (inHairFront(u, v)) return lit(hair, u);
    if (inGlasses(u, v)) return glasses?.frame ?? eyeRgb;
    if (nearEye(u, v, eyeR)) return eyeRgb;
    if (inMouth(u, v)) return lit(mouthRgb, u);
    if (inBeard(u, v)) return lit(beard?.colour ?? hair, u);
    if (inFace(u, v)) return lit(skin, u);
    if (inNeck(u, v)) return lit(scale(skin, 0.82), u);
    if (inHairBack(u, v)) return lit(scale(hair, 0.88), u);
    if (inShirt(u, v)) return shirt;
    return backdrop(u, v);
  };

  // 4 × 4 samples a pixel: edges blend as a downscaled photo's do.
  const sub = 4;
  const rgba = new Uint8Array(side * side * 4);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let [r, g, b] = [0, 0, 0];
      for (let sy = 0; sy < sub; sy++) {
        for (let sx = 0; sx < sub; sx++) {
          const c = colourAt((x + (sx + 0.5) / sub) / side, (y + (sy + 0.5) / sub) / side);
          r += c[0];
          g += c[1];
          b += c[2];
        }
      }
      const n = sub * sub;
      const clamp = (v: number) => Math.min(255, Math.max(0, v / n));
      const c = capSaturation([clamp(r), clamp(g), clamp(b)]);
      const p = (y * side + x) * 4;
      rgba.set([Math.round(c[0]), Math.round(c[1]), Math.round(c[2]), 255], p);
    }
  }
  return { width: side, height: side, rgbaBase64: Buffer.from(rgba).toString('base64') };
}

/**
 * An appearance's pixels as width × height × 3 RGB bytes (alpha composited over black; the faces
 * randomAppearance draws are opaque, so there it is simply dropped). What the dataset exports.
 */
export function appearanceRgb(appearance: Appearance): Uint8Array {
  const { width, height } = appearance;
  const rgba = Buffer.from(appearance.rgbaBase64, 'base64');
  if (rgba.length !== width * height * 4) {
    throw new ValidationError([{ field: 'appearance.rgbaBase64', message: `must hold width × height × 4 RGBA bytes (${width * height * 4}), not ${rgba.length}` }]);
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    const a = rgba[p + 3] ?? 255;
    rgb[q] = Math.round(((rgba[p] ?? 0) * a) / 255);
    rgb[q + 1] = Math.round(((rgba[p + 1] ?? 0) * a) / 255);
    rgb[q + 2] = Math.round(((rgba[p + 2] ?? 0) * a) / 255);
  }
  return rgb;
}
