/**
 * Writes contracts/noise-vectors.json: the published test vectors of the deterministic noise.
 * The Philox known answers are Random123's (kat_vectors); the normals come from contracts/noise.ts
 * and are checked by the TypeScript tests and by model-shards/training (Python) alike.
 *
 *   npm run noise:vectors            rewrite the file
 *   npm run noise:vectors -- --check exit 1 if the file differs from what the code produces
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gaussianNoise, sha256Hex } from '../contracts/index.ts';

const target = fileURLToPath(new URL('../contracts/noise-vectors.json', import.meta.url));

const PHILOX_KAT = [
  { counter: ['00000000', '00000000', '00000000', '00000000'], key: ['00000000', '00000000'], output: ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8'] },
  { counter: ['ffffffff', 'ffffffff', 'ffffffff', 'ffffffff'], key: ['ffffffff', 'ffffffff'], output: ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd'] },
  { counter: ['243f6a88', '85a308d3', '13198a2e', '03707344'], key: ['a4093822', '299f31d0'], output: ['d16cfe09', '94fdcceb', '5001e420', '24126ea1'] },
];

// Chosen to cover: seed 0, a large seed, every stream, an offset that starts mid-block, and a
// range that crosses block 2^32 (where the counter's second word first changes).
const CASES = [
  { seed: 0, stream: 0, offset: 0, count: 16 },
  { seed: 7, stream: 0, offset: 0, count: 64 },
  { seed: 20261125, stream: 1, offset: 1021, count: 13 },
  { seed: 4294967295, stream: 2, offset: 0, count: 8 },
  { seed: 123456789, stream: 0, offset: 4 * 2 ** 32 - 6, count: 12 },
];

function float32Bits(values: Float32Array): string[] {
  const view = new DataView(values.buffer, values.byteOffset, values.byteLength);
  return Array.from({ length: values.length }, (_, i) => view.getUint32(i * 4, true).toString(16).padStart(8, '0'));
}

// A long draw, published as the sha256 of its little-endian float32 bytes: covers far more
// (radius, angle) pairs than the listed values can.
const DIGESTS = [{ seed: 42, stream: 0, offset: 0, count: 65536 }];

export async function buildNoiseVectors() {
  return {
    description:
      'Test vectors of Zoetrope deterministic noise (contracts/noise.ts). float32Bits are IEEE-754 binary32 bit patterns, big-endian hex; values are the same numbers in decimal, for reading.',
    algorithm: 'philox4x32-10 + box-muller (libm-free), float32',
    philox4x32_10: PHILOX_KAT,
    normals: CASES.map((c) => {
      const values = gaussianNoise(c.seed, c.stream, c.count, c.offset);
      return { ...c, float32Bits: float32Bits(values), values: Array.from(values) };
    }),
    digests: await Promise.all(
      DIGESTS.map(async (c) => {
        const values = gaussianNoise(c.seed, c.stream, c.count, c.offset);
        return { ...c, sha256OfFloat32LE: await sha256Hex(new Uint8Array(values.buffer)) };
      }),
    ),
  };
}

const text = `${JSON.stringify(await buildNoiseVectors(), null, 2)}\n`;
if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== text) {
    console.error(`${target} is out of date: run npm run noise:vectors`);
    process.exit(1);
  }
  console.log('noise vectors are up to date');
} else {
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
