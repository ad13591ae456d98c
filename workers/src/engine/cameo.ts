import { ValidationError } from '../../../contracts/index.ts';
import type { Manifest } from '../../../contracts/index.ts';

/**
 * A cameo's reference appearance as RGBA pixels: an `ImageData` passes as it is (the web app draws
 * the owner's uploaded image to a canvas), and Node decodes a file into the same shape.
 */
export interface CameoAppearance {
  readonly width: number;
  readonly height: number;
  /** width × height × 4 bytes, row by row. */
  readonly data: Uint8Array | Uint8ClampedArray;
}

/** Largest reference side accepted (the edge stores up to 5 MB; a phone photo is ~4000 px). */
export const MAX_APPEARANCE_SIDE = 8192;

/**
 * Where a model takes a cameo's reference image, and at what side; null for a model without cameos.
 * - `textEncoder`: the generator is conditioned on the image (an `appearance` input on the text
 *   encoder, [batch, side, side, 3], and a `cameo` weight per row).
 * - `videoDecoder`: the figure's head is a slot and the video decoder paints the face on it (an
 *   `appearance` input on the video decoder, [side, side, 3], and a `cameo` weight [1]); the
 *   generator draws the same clip with or without a cameo.
 */
export interface CameoInput {
  readonly graph: 'textEncoder' | 'videoDecoder';
  readonly side: number;
}

export function cameoInput(manifest: Manifest): CameoInput | null {
  for (const graph of ['textEncoder', 'videoDecoder'] as const) {
    const spec = manifest.graphs[graph].inputs.find((input) => input.name === 'appearance');
    if (!spec) continue;
    const shape = graph === 'textEncoder' ? spec.shape.slice(1) : spec.shape;
    const expected = graph === 'textEncoder' ? '[batch, side, side, 3]' : '[side, side, 3]';
    const side = shape[0];
    if (shape.length !== 3 || typeof side !== 'number' || side < 1 || side !== shape[1] || shape[2] !== 3) {
      throw new ValidationError([{ field: `manifest.graphs.${graph}.inputs`, message: `appearance must be ${expected} (got [${spec.shape.join(', ')}])` }]);
    }
    return { graph, side };
  }
  return null;
}

/** Why a model refuses a cameo recipe, for the error that names it. */
export function noCameoInput(manifest: Manifest): string {
  return `model ${manifest.id} ${manifest.version} cannot draw cameos (neither its text encoder nor its video decoder takes an appearance image)`;
}

/**
 * The reference image as the model sees it: the centred square (a face is in the middle of a
 * portrait or landscape photo), area-averaged down to side × side, RGB in [0, 1] with transparency
 * over black; float32 [side, side, 3]: a selfie shrunk to the size of the world's reference faces,
 * which the model was trained with.
 */
export function appearancePixels(image: CameoAppearance, side: number): Float32Array {
  const { width, height, data } = image;
  const problems: { field: string; message: string }[] = [];
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_APPEARANCE_SIDE) problems.push({ field: `cameo.appearance.${name}`, message: `must be an integer 1–${MAX_APPEARANCE_SIDE} (got ${v})` });
  }
  if (problems.length === 0 && data.length !== width * height * 4) problems.push({ field: 'cameo.appearance.data', message: `must hold width × height × 4 RGBA bytes (${width * height * 4}), not ${data.length}` });
  if (problems.length) throw new ValidationError(problems);
  const crop = Math.min(width, height);
  const x0 = Math.floor((width - crop) / 2);
  const y0 = Math.floor((height - crop) / 2);
  const out = new Float32Array(side * side * 3);
  const weight = new Float64Array(side * side);
  const sums = new Float64Array(side * side * 3);
  // Each source pixel of the crop falls into one output cell (the nearest by its centre's share of
  // the crop), so every pixel counts once; a crop smaller than side is enlarged by repeating pixels.
  if (crop >= side) {
    for (let y = 0; y < crop; y++) {
      const oy = Math.min(side - 1, Math.floor(((y + 0.5) * side) / crop));
      for (let x = 0; x < crop; x++) {
        const ox = Math.min(side - 1, Math.floor(((x + 0.5) * side) / crop));
        const i = ((y0 + y) * width + (x0 + x)) * 4;
        const a = (data[i + 3] as number) / 255;
        const o = oy * side + ox;
        for (let c = 0; c < 3; c++) sums[o * 3 + c] = (sums[o * 3 + c] as number) + ((data[i + c] as number) / 255) * a;
        weight[o] = (weight[o] as number) + 1;
      }
    }
  } else {
    for (let oy = 0; oy < side; oy++) {
      const y = Math.min(crop - 1, Math.floor(((oy + 0.5) * crop) / side));
      for (let ox = 0; ox < side; ox++) {
        const x = Math.min(crop - 1, Math.floor(((ox + 0.5) * crop) / side));
        const i = ((y0 + y) * width + (x0 + x)) * 4;
        const a = (data[i + 3] as number) / 255;
        const o = oy * side + ox;
        for (let c = 0; c < 3; c++) sums[o * 3 + c] = ((data[i + c] as number) / 255) * a;
        weight[o] = 1;
      }
    }
  }
  for (let o = 0; o < side * side; o++) {
    for (let c = 0; c < 3; c++) out[o * 3 + c] = (sums[o * 3 + c] as number) / (weight[o] as number);
  }
  return out;
}
