import { readFile } from 'node:fs/promises';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { ValidationError } from '../../contracts/index.ts';
import { MAX_APPEARANCE_SIDE, type CameoAppearance } from '../../workers/src/engine/cameo.ts';

/**
 * A cameo's reference image decoded to the RGBA pixels the engine takes, in Node (the tab draws the
 * image to a canvas instead): the render node decodes what the edge serves, `npm run generate
 * --cameo` a file. Skia (@napi-rs/canvas, the world renderer's canvas) reads png, jpeg and webp.
 */

/** The most bytes a reference image may have: the edge stores appearances of at most 5 MB. */
export const MAX_APPEARANCE_BYTES = 5 * 1024 * 1024;

/**
 * Decodes png, jpeg or webp bytes; `source` names where they came from in an error (a file, a
 * cameo), which says what is wrong: not an image, or larger than any reference the model takes.
 */
export async function decodeAppearance(bytes: Uint8Array, source: string): Promise<CameoAppearance> {
  let image: Awaited<ReturnType<typeof loadImage>>;
  try {
    image = await loadImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new ValidationError([{ field: source, message: `is not a png, jpeg or webp image (${(error as Error).message})` }]);
  }
  // Checked before the pixels are drawn: a small file can declare a bitmap of gigabytes.
  if (image.width > MAX_APPEARANCE_SIDE || image.height > MAX_APPEARANCE_SIDE) {
    throw new ValidationError([{ field: source, message: `is ${image.width} × ${image.height} pixels; a reference image may be at most ${MAX_APPEARANCE_SIDE} on a side` }]);
  }
  const canvas = createCanvas(image.width, image.height);
  const g = canvas.getContext('2d');
  g.drawImage(image, 0, 0);
  const { data } = g.getImageData(0, 0, image.width, image.height);
  return { width: image.width, height: image.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Reads and decodes a reference image file; `source` (default: the path) names it in an error. */
export async function readAppearance(path: string, source = path): Promise<CameoAppearance> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ValidationError([{ field: source, message: `cannot be read (${(error as Error).message})` }]);
  }
  return decodeAppearance(bytes, source);
}
