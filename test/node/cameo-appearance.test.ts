import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../contracts/index.ts';
import { appearancePixels } from '../../workers/src/engine/cameo.ts';

/** RGBA pixels from a function of (x, y). */
function image(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 4);
  return { width, height, data };
}

const at = (pixels: Float32Array, side: number, x: number, y: number) => Array.from(pixels.subarray((y * side + x) * 3, (y * side + x) * 3 + 3));

describe('a cameo reference image as the model takes it', () => {
  it('area-averages the picture down to side × side, RGB in [0, 1]', () => {
    // 64 × 64, 4 × 4 blocks of one colour per output cell at side 16, with a checkerboard in one cell.
    const img = image(64, 64, (x, y) => (x < 4 && y < 4 ? ((x + y) % 2 ? [255, 255, 255, 255] : [0, 0, 0, 255]) : [x * 4, y * 4, 128, 255]));
    const out = appearancePixels(img, 16);
    expect(out).toHaveLength(16 * 16 * 3);
    expect(at(out, 16, 0, 0).map((v) => +v.toFixed(3))).toEqual([0.5, 0.5, 0.5]);
    // Cell (5, 2) averages x = 20–23, y = 8–11: red (20+21+22+23)·4/4 = 86, green 38.
    expect(at(out, 16, 5, 2).map((v) => Math.round(v * 255))).toEqual([86, 38, 128]);
  });

  it('takes the centred square of a portrait or landscape photo', () => {
    // 30 × 10: the left and right 10 columns are red, the middle square is blue.
    const wide = image(30, 10, (x) => (x >= 10 && x < 20 ? [0, 0, 255, 255] : [255, 0, 0, 255]));
    const out = appearancePixels(wide, 5);
    for (let i = 0; i < 25; i++) expect(at(out, 5, i % 5, Math.floor(i / 5))).toEqual([0, 0, 1]);
    const tall = image(4, 12, (_, y) => (y >= 4 && y < 8 ? [0, 255, 0, 255] : [255, 0, 0, 255]));
    expect(at(appearancePixels(tall, 2), 2, 1, 1)).toEqual([0, 1, 0]);
  });

  it('puts transparency over black and enlarges a picture smaller than the side', () => {
    const half = image(2, 2, (x) => (x === 0 ? [255, 255, 255, 255] : [255, 255, 255, 0]));
    const out = appearancePixels(half, 4);
    expect(at(out, 4, 0, 0)).toEqual([1, 1, 1]);
    expect(at(out, 4, 1, 3)).toEqual([1, 1, 1]);
    expect(at(out, 4, 2, 0)).toEqual([0, 0, 0]);
  });

  it('names what is wrong with a bad image', () => {
    const bad = (img: { width: number; height: number; data: Uint8ClampedArray }) => {
      try {
        appearancePixels(img, 16);
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError);
        return (e as ValidationError).issues.map((i) => `${i.field}: ${i.message}`).join('; ');
      }
      throw new Error('accepted a bad image');
    };
    expect(bad({ width: 2, height: 2, data: new Uint8ClampedArray(15) })).toBe('cameo.appearance.data: must hold width × height × 4 RGBA bytes (16), not 15');
    expect(bad({ width: 0, height: 1.5, data: new Uint8ClampedArray(0) })).toMatch(/cameo\.appearance\.width: must be an integer 1–8192 \(got 0\); cameo\.appearance\.height: must be an integer 1–8192 \(got 1\.5\)/);
  });
});
