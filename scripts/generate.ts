/**
 * `npm run generate -- --prompt "…" --seed 7 --out clip.mp4 [--model DIR] [--steps N] [--guidance G] [--cameo face.png]`
 *
 * The reference generator: runs a model folder with onnxruntime-node (every file checked against its
 * manifest first) and muxes the clip with ffmpeg as MP4 (H.264 + AAC), the recipe in its metadata.
 * Before the browser engine exists, this is how the model is tried; the engine must match it.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OnnxModel } from '../render/onnx-model.ts';
import { readAppearance } from '../render/src/appearance.ts';
import { writeMp4 } from '../render/src/mp4.ts';
import { ensureDebianPackages, FFMPEG } from './system-packages.ts';

// The encoder moved to render/ (scripts may import render, not the other way round).
export { wavBytes, writeMp4 } from '../render/src/mp4.ts';

export const DEFAULT_MODEL = 'model-shards/zoetrope-draft';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { prompt: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, model: { type: 'string' }, steps: { type: 'string' }, guidance: { type: 'string' }, cameo: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const usage = 'usage: npm run generate -- --prompt "a red ball bounces in a gym" --seed 7 --out clip.mp4 [--model DIR] [--steps N] [--guidance G] [--cameo face.png]\n--cameo: a reference appearance image (png, jpeg or webp) of the person the figure becomes';
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const problems: string[] = [];
  if (!values.prompt?.trim()) problems.push('--prompt is required');
  const seed = Number(values.seed ?? NaN);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) problems.push(`--seed must be an integer 0–4294967295 (got ${values.seed ?? 'nothing'})`);
  if (!values.out?.endsWith('.mp4')) problems.push('--out must name an .mp4 file');
  const steps = values.steps === undefined ? undefined : Number(values.steps);
  if (steps !== undefined && (!Number.isInteger(steps) || steps < 1 || steps > 100)) problems.push(`--steps must be an integer 1–100 (got ${values.steps})`);
  const guidance = values.guidance === undefined ? undefined : Number(values.guidance);
  if (guidance !== undefined && !(guidance >= 0 && guidance <= 20)) problems.push(`--guidance must be 0–20 (got ${values.guidance})`);
  if (problems.length > 0) {
    console.error(`${problems.join('\n')}\n${usage}`);
    return 2;
  }
  const cameo = values.cameo === undefined ? undefined : { appearance: await readAppearance(values.cameo, `--cameo ${values.cameo}`) };
  const modelDir = resolve(values.model ?? DEFAULT_MODEL);
  const model = await OnnxModel.load(modelDir);
  const started = performance.now();
  const clip = await model.generate({ prompt: values.prompt as string, seed, steps, guidance, ...(cameo ? { cameo } : {}), onStep: (s, n) => void process.stderr.write(`\rgenerate: step ${s}/${n}`) });
  process.stderr.write('\n');
  if (clip.unknownWords.length > 0) console.warn(`generate: the model does not know ${clip.unknownWords.map((w) => `"${w}"`).join(', ')} (read as unknown)`);
  const recipe = { prompt: values.prompt, seed, model: { id: model.manifest.id, version: model.manifest.version }, steps: steps ?? model.manifest.sampler.steps, guidance: guidance ?? model.manifest.sampler.guidance };
  ensureDebianPackages([FFMPEG]);
  await writeMp4(clip, values.out as string, JSON.stringify(recipe));
  const t = clip.timings;
  console.log(`wrote ${values.out}: ${clip.frameCount} frames of ${clip.width}×${clip.height} at ${clip.fps} fps with ${clip.sampleRate} Hz audio in ${((performance.now() - started) / 1000).toFixed(2)} s (text ${t.textMs.toFixed(0)} ms, sampling ${t.stepsMs.toFixed(0)} ms, video decoder ${t.videoMs.toFixed(0)} ms, audio decoder ${t.audioMs.toFixed(0)} ms)`);
  await model.release();
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`generate: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
