import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CanceledError, gaussianNoise, IntegrityError, NOISE_STREAM, ValidationError, WordTokenizer } from '../../contracts/index.ts';
import { OnnxModel } from '../../render/onnx-model.ts';
import { checkParity } from '../../scripts/onnx-parity.ts';
import { wavBytes } from '../../scripts/generate.ts';
import { figureCells, initialNoise, sampleFlow, temperedNoise } from '../../workers/src/engine/flow.ts';
import { generateClip, type GraphRunner } from '../../workers/src/engine/generate.ts';

const FIXTURE = 'test/fixtures/tiny-model';
const tokenizerJson = {
  version: 1,
  kind: 'word',
  pattern: "[a-z]+(?:'[a-z]+)?|[0-9]+|[^\\sa-z0-9]",
  lowercase: true,
  maxTokens: 6,
  specials: ['[PAD]', '[UNK]', '[BOS]'],
  vocab: ['[PAD]', '[UNK]', '[BOS]', '.', 'a', 'ball', 'bounces', 'red'],
};

describe('word tokenizer (the twin of training/zoetrope/text.py)', () => {
  it('lower-cases, splits words and punctuation, and starts with [BOS]', () => {
    const t = WordTokenizer.parse(tokenizerJson);
    expect(t.encode('A RED ball bounces.')).toEqual({ ids: [2, 4, 7, 5, 6, 3], unknownWords: [], truncated: false });
  });

  it('reports the words it does not know instead of guessing', () => {
    const t = WordTokenizer.parse(tokenizerJson);
    expect(t.encode("a purple ball doesn't")).toEqual({ ids: [2, 4, 1, 5, 1], unknownWords: ['purple', "doesn't"], truncated: false });
  });

  it('cuts at maxTokens and says so; pads tensors with a zero mask', () => {
    const t = WordTokenizer.parse(tokenizerJson);
    const long = t.encode('a red ball bounces a red ball');
    expect(long.ids).toHaveLength(6);
    expect(long.truncated).toBe(true);
    const { ids, mask } = t.tensors('red ball');
    expect([...ids]).toEqual([2n, 7n, 5n, 0n, 0n, 0n]);
    expect([...mask]).toEqual([1, 1, 1, 0, 0, 0]);
  });

  it('names what is wrong with a bad tokenizer file', () => {
    expect(() => WordTokenizer.parse({ ...tokenizerJson, vocab: ['a', 'b', 'c'] })).toThrow(/tokenizer\.vocab must start with \[PAD\]/);
    expect(() => WordTokenizer.parse({ ...tokenizerJson, pattern: '(' })).toThrow(ValidationError);
  });
});

describe('flow sampler', () => {
  const layout = { frames: 3, videoNumbers: 4, audioNumbers: 2 };

  it('draws the video and audio parts of the starting noise from their own streams', () => {
    const noise = initialNoise(11, layout);
    const video = gaussianNoise(11, NOISE_STREAM.videoLatent, 12);
    const audio = gaussianNoise(11, NOISE_STREAM.audioLatent, 6);
    expect([...noise.subarray(6, 10)]).toEqual([...video.subarray(4, 8)]);
    expect([...noise.subarray(16, 18)]).toEqual([...audio.subarray(4, 6)]);
  });

  describe('temperature', () => {
    // 2 frames of a 2-channel 4×4 latent, then a head slot (present, x, y) and 1 sound number: 36 a frame.
    const tl = { frames: 3, videoNumbers: 35, audioNumbers: 1 };
    const temperature = { scale: 0.8, firstSteps: 1, latent: { channels: 2, side: 4 }, head: { at: 32, mean: [0.5, 0, 0] as [number, number, number], std: [0.5, 1, 1] as [number, number, number] }, across: 0.2, above: 0.1, below: 0.3 };
    /** A first draw showing the head (normalised presence 1 → 1.0) at (x, y) in `frame` only. */
    const firstDraw = (frame: number, x: number, y: number) => {
      const first = new Float32Array(3 * 36).fill(-1);
      first.set([1, x, y], frame * 36 + 32);
      return first;
    };

    it('keeps the cells around and under the head, on its frame and one frame either side', () => {
      const keep = figureCells(firstDraw(0, 0.3, 0.2), tl, temperature);
      // Cell centres 0.125, 0.375, 0.625, 0.875: x within 0.2 of 0.3 → columns 0 and 1; y from 0.1 to 0.5 → rows 0 and 1.
      const frame = (f: number) => Array.from({ length: 4 }, (_, r) => [...keep.subarray(f * 16 + r * 4, f * 16 + r * 4 + 4)].join('')).join(' ');
      expect(frame(0)).toBe('1100 1100 0000 0000');
      expect(frame(1)).toBe('1100 1100 0000 0000');
      expect(frame(2)).toBe('0000 0000 0000 0000');
      // A head the first draw does not show (presence 0.5 at most) keeps nothing.
      const hidden = firstDraw(1, 0.3, 0.2);
      hidden[36 + 32] = 0;
      expect([...figureCells(hidden, tl, temperature)].every((v) => v === 0)).toBe(true);
    });

    it('scales the rest of the latent, rounded to float32, and leaves the slots and the sound alone', () => {
      const noise = initialNoise(3, tl);
      const out = temperedNoise(noise, firstDraw(2, 0.9, 0.9), tl, temperature);
      const keep = figureCells(firstDraw(2, 0.9, 0.9), tl, temperature);
      for (let f = 0; f < 3; f++) {
        for (let k = 0; k < 36; k++) {
          const i = f * 36 + k;
          const kept = k >= 32 || keep[f * 16 + (k % 16)] === 1;
          expect(out[i]).toBe(kept ? noise[i] : Math.fround((noise[i] as number) * Math.fround(0.8)));
        }
      }
      expect(keep[2 * 16 + 15]).toBe(1);
      expect(keep[0]).toBe(0);
      expect(() => temperedNoise(noise, new Float32Array(5), tl, temperature)).toThrow(/the first draw has 5 numbers, not 3 frames × 36/);
    });
  });

  it('lands exactly on the data when the denoiser knows the true velocity, on any schedule', async () => {
    const target = Float32Array.from({ length: 18 }, (_, i) => Math.sin(i));
    for (const timesteps of [[1, 0], [1, 0.5, 0], [1, 0.9, 0.4, 0.1, 0]]) {
      const steps: number[] = [];
      const x = await sampleFlow({
        noise: initialNoise(5, layout),
        timesteps,
        guidance: 1,
        denoise: async (xt, t) => ({ conditioned: Float32Array.from(xt, (v, i) => (v - (target[i] as number)) / t), unconditioned: null }),
        onStep: (step) => void steps.push(step),
      });
      x.forEach((v, i) => expect(v).toBeCloseTo(target[i] as number, 5));
      expect(steps).toEqual(Array.from({ length: timesteps.length - 1 }, (_, i) => i + 1));
    }
  });

  it('applies guidance as unconditioned + g × (conditioned − unconditioned)', async () => {
    const x = await sampleFlow({ noise: new Float32Array(2), timesteps: [1, 0], guidance: 3, denoise: async () => ({ conditioned: Float32Array.of(2, 2), unconditioned: Float32Array.of(1, 1) }) });
    expect([...x]).toEqual([-4, -4]);
  });

  it('stops at the next step when canceled, and refuses a bad schedule', async () => {
    const controller = new AbortController();
    let calls = 0;
    const run = sampleFlow({
      noise: new Float32Array(2),
      timesteps: [1, 0.75, 0.5, 0.25, 0],
      guidance: 1,
      signal: controller.signal,
      denoise: async () => {
        calls++;
        if (calls === 2) controller.abort();
        return { conditioned: new Float32Array(2), unconditioned: null };
      },
    });
    await expect(run).rejects.toBeInstanceOf(CanceledError);
    expect(calls).toBe(2);
    await expect(sampleFlow({ noise: new Float32Array(1), timesteps: [1, 1, 0], guidance: 1, denoise: async () => ({ conditioned: new Float32Array(1), unconditioned: null }) })).rejects.toThrow(/decrease strictly/);
  });
});

describe('the tiny exported model in onnxruntime-node', () => {
  let model: OnnxModel;
  let tmp: string;
  beforeAll(async () => {
    model = await OnnxModel.load(FIXTURE);
    tmp = await mkdtemp(join(tmpdir(), 'zoetrope-model-'));
  });
  afterAll(async () => {
    await model.release();
    await rm(tmp, { recursive: true, force: true });
  });

  it('matches PyTorch on every graph (float16 weights, float32 math)', async () => {
    const report = await checkParity(FIXTURE, 'test/fixtures/tiny-model-parity.json', 1e-4);
    expect(report.pass).toBe(true);
    expect(Object.keys(report.graphs).sort()).toEqual(['audioDecoder', 'denoiser', 'textEncoder', 'videoDecoder']);
  });

  it('generates the same clip from the same prompt and seed, another from another seed', async () => {
    const a = await model.generate({ prompt: 'a ball bounces', seed: 7 });
    const b = await model.generate({ prompt: 'a ball bounces', seed: 7 });
    const c = await model.generate({ prompt: 'a ball bounces', seed: 8 });
    expect(a.frames).toHaveLength(12 * 32 * 32 * 3);
    expect(a.audio).toHaveLength(24_000);
    expect(Buffer.from(a.frames).equals(Buffer.from(b.frames))).toBe(true);
    expect([...a.audio]).toEqual([...b.audio]);
    expect(Buffer.from(a.frames).equals(Buffer.from(c.frames))).toBe(false);
  });

  it('previews each step with the middle frame of the current guess; the last preview is the final frame', async () => {
    const previews: Uint8Array[] = [];
    const clip = await model.generate({ prompt: 'a ball bounces', seed: 9, preview: true, onStep: (_s, _n, preview) => void previews.push(preview!.rgb) });
    expect(previews).toHaveLength(4);
    const frameBytes = 32 * 32 * 3;
    const middle = clip.frames.subarray(6 * frameBytes, 7 * frameBytes);
    expect(Buffer.from(previews[3]!).equals(Buffer.from(middle))).toBe(true);
  });

  it('refuses a prompt the policy refuses before running any graph, naming the words', async () => {
    await expect(model.generate({ prompt: 'a naked figure kicks a ball', seed: 1 })).rejects.toThrow('recipe.prompt is refused by the prompt policy: "naked": sexual content is not allowed');
    await expect(model.generate({ prompt: 'Barack Obama kicks a ball', seed: 1 })).rejects.toThrow(/"Barack Obama" looks like a real person/);
    // The stricter filter (teen accounts) refuses what is merely intense; the standard one does not.
    await expect(model.generate({ prompt: 'a scary ball bounces', seed: 1, strictFilter: true })).rejects.toThrow(/"scary": not shown with the stricter filter/);
    expect((await model.generate({ prompt: 'a scary ball bounces', seed: 1, steps: 1 })).frameCount).toBe(12);
  });

  it('draws a cameo: the same face gives the same clip, another face another, none the plain figure', async () => {
    const face = (r: number, g: number, b: number) => {
      const data = new Uint8ClampedArray(40 * 30 * 4);
      for (let i = 0; i < data.length; i += 4) data.set([r, g, b, 255], i);
      return { appearance: { width: 40, height: 30, data } };
    };
    const request = { prompt: 'a person kicks a ball', seed: 3, steps: 2 };
    const plain = await model.generate(request);
    const a = await model.generate({ ...request, cameo: face(220, 180, 140) });
    const again = await model.generate({ ...request, cameo: face(220, 180, 140) });
    const b = await model.generate({ ...request, cameo: face(60, 40, 30) });
    // The tiny model is all but untrained (its blocks' gates barely open), so a face moves its output
    // by far less than a pixel level: compare the sound, which comes out as float32.
    const same = (x: typeof a, y: typeof a) => Buffer.from(x.frames).equals(Buffer.from(y.frames)) && x.audio.every((v, i) => v === y.audio[i]);
    expect(same(a, again)).toBe(true);
    expect(same(a, b)).toBe(false);
    expect(same(a, plain)).toBe(false);
    await expect(model.generate({ ...request, cameo: { appearance: { width: 2, height: 2, data: new Uint8ClampedArray(3) } } })).rejects.toThrow('cameo.appearance.data must hold width × height × 4 RGBA bytes (16), not 3');
  });

  it('refuses a cameo on a model that cannot draw one, before running any graph', async () => {
    const copy = join(tmp, 'no-cameo');
    await cp(FIXTURE, copy, { recursive: true });
    const manifest = JSON.parse(await readFile(join(copy, 'manifest.json'), 'utf8')) as { graphs: { textEncoder: { inputs: { name: string }[] } } };
    manifest.graphs.textEncoder.inputs = manifest.graphs.textEncoder.inputs.filter((i) => i.name !== 'appearance' && i.name !== 'cameo');
    await writeFile(join(copy, 'manifest.json'), JSON.stringify(manifest));
    const old = await OnnxModel.load(copy);
    try {
      const data = new Uint8ClampedArray(4).fill(200);
      await expect(old.generate({ prompt: 'a person kicks a ball', seed: 1, cameo: { appearance: { width: 1, height: 1, data } } })).rejects.toThrow(/recipe\.cameos model zoetrope-tiny 0\.0\.1 cannot draw cameos/);
    } finally {
      await old.release();
    }
  });

  it('refuses a model folder whose shard does not match its manifest, naming the file', async () => {
    const copy = join(tmp, 'corrupt');
    await cp(FIXTURE, copy, { recursive: true });
    const shard = join(copy, 'denoiser.data-0');
    const bytes = await readFile(shard);
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    await writeFile(shard, bytes);
    const error = await OnnxModel.load(copy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as IntegrityError).message).toContain('denoiser.data-0');
    await expect(OnnxModel.load(join(tmp, 'missing'))).rejects.toThrow(/no readable manifest\.json/);
  });

  it('writes a 16-bit mono WAV for the MP4 muxer', () => {
    const wav = wavBytes(Float32Array.of(0, 1, -1), 24_000);
    const view = new DataView(wav.buffer);
    expect(new TextDecoder().decode(wav.subarray(0, 4))).toBe('RIFF');
    expect(view.getUint32(24, true)).toBe(24_000);
    expect([view.getInt16(44, true), view.getInt16(46, true), view.getInt16(48, true)]).toEqual([0, 32767, -32767]);
  });
});

describe('a model whose video decoder paints the cameo (the head slot: config tiny-cameo)', () => {
  const HEAD_FIXTURE = 'test/fixtures/tiny-model-head';
  let model: OnnxModel;
  beforeAll(async () => {
    model = await OnnxModel.load(HEAD_FIXTURE);
  });
  afterAll(async () => {
    await model.release();
  });
  const face = (r: number, g: number, b: number) => {
    const data = new Uint8ClampedArray(40 * 30 * 4);
    for (let i = 0; i < data.length; i += 4) data.set([r, g, b, 255], i);
    return { appearance: { width: 40, height: 30, data } };
  };
  const changedPixels = (x: Uint8Array, y: Uint8Array) => {
    let n = 0;
    for (let i = 0; i < x.length; i += 3) if (x[i] !== y[i] || x[i + 1] !== y[i + 1] || x[i + 2] !== y[i + 2]) n++;
    return n;
  };

  it('matches PyTorch on every graph, the face painting included', async () => {
    const report = await checkParity(HEAD_FIXTURE, 'test/fixtures/tiny-model-head-parity.json', 1e-4);
    expect(report.pass).toBe(true);
    const manifest = JSON.parse(await readFile(join(HEAD_FIXTURE, 'manifest.json'), 'utf8')) as { graphs: Record<string, { inputs: { name: string }[] }> };
    expect(manifest.graphs.videoDecoder?.inputs.map((i) => i.name)).toEqual(['tokens', 'appearance', 'cameo']);
    expect(manifest.graphs.textEncoder?.inputs.map((i) => i.name)).toEqual(['ids', 'mask']);
  });

  it('draws the same clip with or without a cameo and paints the face on the head alone', async () => {
    const request = { prompt: 'a person kicks a ball', seed: 3, steps: 2 };
    const plain = await model.generate(request);
    const a = await model.generate({ ...request, cameo: face(220, 180, 140) });
    const again = await model.generate({ ...request, cameo: face(220, 180, 140) });
    const b = await model.generate({ ...request, cameo: face(60, 40, 30) });
    // The generator never sees the face: the sound (decoded from the same tokens) is the same to the bit.
    expect(a.audio.every((v, i) => v === plain.audio[i] && v === b.audio[i])).toBe(true);
    expect(Buffer.from(a.frames).equals(Buffer.from(again.frames))).toBe(true);
    // The face changes the head's pixels and nothing else: a few of the 12 frames × 32 × 32.
    const pixels = a.frameCount * a.width * a.height;
    const changed = changedPixels(a.frames, plain.frames);
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThan(pixels * 0.02);
    expect(changedPixels(b.frames, plain.frames)).toBeLessThan(pixels * 0.02);
    // Another face, other pixels on the same head.
    expect(changedPixels(a.frames, b.frames)).toBeGreaterThan(changed / 2);
  });

  it('draws at the manifest temperature: a first draw, then the clip, progress counting both', async () => {
    const { videoNumbers } = model.manifest.tokens;
    // Statistics that read the head slot as shown at the middle of the frame wherever the draw has any value there.
    const temperature = { scale: 0.5, firstSteps: 2, latent: { channels: 4, side: 8 }, head: { at: videoNumbers - 7, mean: [1, 0.5, 0.3] as [number, number, number], std: [1e-3, 1e-3, 1e-3] as [number, number, number] }, across: 0.2, above: 0.1, below: 0.4 };
    const tempered = { ...model.manifest, sampler: { ...model.manifest.sampler, temperature } };
    let denoised = 0;
    const runner: GraphRunner = { run: (role, feeds) => ((denoised += role === 'denoiser' ? 1 : 0), model.run(role, feeds)) };
    const request = { prompt: 'a person kicks a ball', seed: 3, steps: 2, guidance: 1 };
    const steps: string[] = [];
    const warm = await generateClip(runner, tempered, model.tokenizer, { ...request, onStep: (step, total) => void steps.push(`${step}/${total}`) });
    expect(denoised).toBe(4);
    expect(steps).toEqual(['1/4', '2/4', '3/4', '4/4']);
    const plain = await model.generate(request);
    expect(Buffer.from(warm.frames).equals(Buffer.from(plain.frames))).toBe(false);
    // At scale 1 there is no first draw, and the clip is the plain one to the bit.
    denoised = 0;
    const one = await generateClip(runner, { ...tempered, sampler: { ...tempered.sampler, temperature: { ...temperature, scale: 1 } } }, model.tokenizer, request);
    expect(denoised).toBe(2);
    expect(Buffer.from(one.frames).equals(Buffer.from(plain.frames))).toBe(true);
  });
});
