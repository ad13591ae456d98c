import { checkPrompt, describeViolations, UnsupportedError, ValidationError, type GraphRole, type Manifest, type WordTokenizer } from '../../../contracts/index.ts';
import { appearancePixels, cameoInput, noCameoInput, type CameoAppearance } from './cameo.ts';
import { initialNoise, sampleFlow, temperedNoise } from './flow.ts';

/**
 * Frames decoded on each side of a preview frame (see `preview` in generateClip): the Draft's video
 * decoder refines ball tracks with a learnt prior of the world's motion, then smooths them over time,
 * and a frame depends on this many neighbours each way (DECODER_CONTEXT in
 * model-shards/training/zoetrope/track_refiner.py, which a test there checks against this line).
 */
const PREVIEW_CONTEXT = 26;

/**
 * One clip from a prompt and a seed, the same in every runtime: the tab (onnxruntime-web), the Node
 * reference generator and the Pro render node (onnxruntime-node) each supply a GraphRunner; the
 * tokenizing, the noise, the sampler, the guidance and the output checks live here once.
 */

export type TensorType = 'float32' | 'int64';
export interface PlainTensor {
  readonly type: TensorType;
  readonly data: Float32Array | BigInt64Array;
  readonly dims: readonly number[];
}

export interface GraphRunner {
  run(role: GraphRole, feeds: Record<string, PlainTensor>): Promise<Record<string, PlainTensor>>;
  /**
   * Optional: the whole sampler, with the tokens kept where the runner computes (a GPU) from the
   * first step to the last. Null when it can't here (no GPU, or the GPU failed and the runner fell
   * back): the shared loop below runs instead, from the same noise. The tokens it returns are
   * already checked (NaN, ∞, a silent GPU failure), where its fallback can still act on them.
   */
  sampleResident?(job: ResidentSampling): Promise<Float32Array | null>;
}

export interface ResidentSampling {
  readonly noise: Float32Array;
  readonly timesteps: readonly number[];
  readonly guidance: number;
  /** 2 with guidance (conditioned, unconditioned), else 1. */
  readonly batch: number;
  readonly frames: number;
  readonly dim: number;
  /** The text encoder's outputs and the mask, batched like the denoiser's input. */
  readonly text: Readonly<Record<'text' | 'pooled' | 'mask', PlainTensor>>;
  readonly signal?: AbortSignal;
  /** After each step; `predicted` (the clean-clip guess, downloaded) only when `wantPredicted`. */
  readonly onStep?: (step: number, steps: number, predicted?: Float32Array) => Promise<void>;
  readonly wantPredicted: boolean;
}

export interface GenerateRequest {
  readonly prompt: string;
  readonly seed: number;
  readonly steps?: number;
  readonly guidance?: number;
  readonly signal?: AbortSignal;
  /** After each sampler step, with (when `preview` is set) the middle frame of the model's current guess. */
  readonly onStep?: (step: number, steps: number, preview?: PreviewFrame) => void | Promise<void>;
  readonly preview?: boolean;
  /** The stricter content filter (teen accounts): also refuses what is merely intense. */
  readonly strictFilter?: boolean;
  /**
   * A cameo: the reference appearance of the person the figure in the clip becomes. Whoever calls
   * has already checked the consent token (the app and the render node do, against the cameo's
   * instance); the engine only draws. The model must take a cameo (manifest: an `appearance` input
   * on the text encoder, or on the video decoder that paints the face on the figure's head).
   */
  readonly cameo?: { readonly appearance: CameoAppearance };
}

/** One RGB frame (height × width × 3 bytes). */
export interface PreviewFrame {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

const toBytes = (pixels: Float32Array) => {
  const bytes = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, pixels[i] as number)) * 255);
  return bytes;
};

export interface GeneratedClip {
  /** RGB bytes, frames × height × width × 3. */
  readonly frames: Uint8Array;
  readonly frameCount: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Mono PCM in [-1, 1]. */
  readonly audio: Float32Array;
  readonly sampleRate: number;
  readonly unknownWords: readonly string[];
  readonly timings: { readonly textMs: number; readonly stepsMs: number; readonly videoMs: number; readonly audioMs: number };
}

/** Thrown when a graph returns numbers that cannot be right (NaN, ∞, or all zeros from a failed GPU pass). */
export class BadOutputError extends Error {
  override readonly name = 'BadOutputError';
  constructor(
    readonly role: GraphRole,
    readonly output: string,
    readonly why: string,
  ) {
    super(`${role} output ${output} ${why}`);
  }
}

export function checkOutput(role: GraphRole, name: string, t: PlainTensor): void {
  if (t.type !== 'float32') return;
  const data = t.data as Float32Array;
  let allZero = data.length > 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!Number.isFinite(v)) throw new BadOutputError(role, name, 'holds NaN or infinite values');
    if (v !== 0) allZero = false;
  }
  // onnxruntime-web's WebGPU backend can fail a validation silently and hand back zeros (DESIGN.md).
  if (allZero && data.length >= 16) throw new BadOutputError(role, name, 'is all zeros (a silent GPU failure)');
}

export function scheduleFor(manifest: Manifest, steps: number | undefined): number[] {
  const n = steps ?? manifest.sampler.steps;
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new RangeError(`steps must be an integer 1–100 (got ${n})`);
  return n === manifest.sampler.steps ? [...manifest.sampler.timesteps] : Array.from({ length: n + 1 }, (_, i) => 1 - i / n);
}

export async function generateClip(runner: GraphRunner, manifest: Manifest, tokenizer: WordTokenizer, request: GenerateRequest): Promise<GeneratedClip> {
  if (!Number.isInteger(request.seed) || request.seed < 0 || request.seed > 0xffffffff) throw new RangeError(`seed must be an integer 0–4294967295 (got ${request.seed})`);
  // The prompt policy where a clip is made: a Draft in the tab and a Pro render on a node alike.
  // A cameo is the consented way to put a person in a clip, so a named real person is refused here too.
  const verdict = checkPrompt(request.prompt, { strict: request.strictFilter ?? false });
  if (!verdict.allowed) throw new ValidationError([{ field: 'recipe.prompt', message: `is refused by the prompt policy: ${describeViolations(verdict)}` }]);
  const guidance = request.guidance ?? manifest.sampler.guidance;
  if (!(guidance >= 0 && guidance <= 20)) throw new RangeError(`guidance must be 0–20 (got ${guidance})`);
  const timesteps = scheduleFor(manifest, request.steps);
  const cameoAt = cameoInput(manifest);
  if (request.cameo && !cameoAt) throw new ValidationError([{ field: 'recipe.cameos', message: noCameoInput(manifest) }]);
  const side = cameoAt?.side ?? 0;
  const cameoPixels = request.cameo ? appearancePixels(request.cameo.appearance, side) : null;
  // A decoder that paints the face takes the image and a weight on every call: zeros and 0 without a cameo.
  const decoderCameo: Record<string, PlainTensor> =
    cameoAt?.graph === 'videoDecoder'
      ? { appearance: { type: 'float32', data: cameoPixels ?? new Float32Array(side * side * 3), dims: [side, side, 3] }, cameo: { type: 'float32', data: Float32Array.of(cameoPixels ? 1 : 0), dims: [1] } }
      : {};
  const { frames, videoNumbers, audioNumbers } = manifest.tokens;
  const dim = videoNumbers + audioNumbers;
  const L = tokenizer.maxTokens;
  const run = async (role: GraphRole, feeds: Record<string, PlainTensor>) => {
    const out = await runner.run(role, feeds);
    for (const [name, t] of Object.entries(out)) checkOutput(role, name, t);
    return out;
  };
  const now = () => globalThis.performance.now();

  let t0 = now();
  const prompts = guidance === 1 ? [request.prompt] : [request.prompt, ''];
  const encoded = prompts.map((p) => tokenizer.tensors(p));
  const batch = encoded.length;
  const ids = new BigInt64Array(batch * L);
  const mask = new Float32Array(batch * L);
  encoded.forEach((e, b) => {
    ids.set(e.ids, b * L);
    mask.set(e.mask, b * L);
  });
  const maskTensor: PlainTensor = { type: 'float32', data: mask, dims: [batch, L] };
  const textInputs: Record<string, PlainTensor> = { ids: { type: 'int64', data: ids, dims: [batch, L] }, mask: maskTensor };
  const textCameo = cameoAt?.graph === 'textEncoder';
  if (textCameo) {
    // The cameo conditions the prompt's row only: guidance compares against no prompt and no cameo.
    const appearance = new Float32Array(batch * side * side * 3);
    if (cameoPixels) appearance.set(cameoPixels);
    textInputs.appearance = { type: 'float32', data: appearance, dims: [batch, side, side, 3] };
    textInputs.cameo = { type: 'float32', data: Float32Array.from({ length: batch }, (_, b) => (b === 0 && cameoPixels ? 1 : 0)), dims: [batch] };
  }
  const text = await run('textEncoder', textInputs);
  const textMs = now() - t0;
  // A cameo model's condition is one token longer (the appearance's), with its own mask.
  const textFeeds = { text: text.text as PlainTensor, pooled: text.pooled as PlainTensor, mask: textCameo ? (text.textMask as PlainTensor) : maskTensor };

  t0 = now();
  const middle = Math.floor(frames / 2);
  // The middle frame is decoded with up to PREVIEW_CONTEXT neighbours on each side: a video decoder
  // may look across frames (the Draft smooths ball tracks), and with this window the last preview is
  // exactly the clip's middle frame.
  const [from, to] = [Math.max(0, middle - PREVIEW_CONTEXT), Math.min(frames, middle + PREVIEW_CONTEXT + 1)];
  const frameValues = manifest.output.width * manifest.output.height * 3;
  const preview = async (step: number, steps: number, predicted: Float32Array) => {
    const rgb = (await run('videoDecoder', { tokens: { type: 'float32', data: predicted.slice(from * dim, to * dim), dims: [to - from, dim] }, ...decoderCameo })).rgb as PlainTensor;
    const frame = (rgb.data as Float32Array).subarray((middle - from) * frameValues, (middle - from + 1) * frameValues);
    return request.onStep?.(step, steps, { rgb: toBytes(frame), width: manifest.output.width, height: manifest.output.height });
  };
  // At a temperature, a first short draw finds the figure; progress counts its steps and the clip's together.
  const temperature = manifest.sampler.temperature && manifest.sampler.temperature.scale !== 1 ? manifest.sampler.temperature : undefined;
  const firstSteps = temperature?.firstSteps ?? 0;
  const totalSteps = firstSteps + timesteps.length - 1;
  /**
   * The sampler from `noise` over `timesteps`: resident on the runner's GPU where it can be, else the
   * shared loop. Its steps are reported after `before` others; a preview only for the clip's own draw.
   */
  const draw = async (noise: Float32Array, timesteps: number[], before: number, previews: boolean): Promise<Float32Array> => {
    const report = request.onStep;
    const onStep = report ? (step: number) => report(before + step, totalSteps) : undefined;
    const withPreview = previews && Boolean(request.preview && report);
    const resident = runner.sampleResident
      ? await runner.sampleResident({
          noise,
          timesteps,
          guidance,
          batch,
          frames,
          dim,
          text: textFeeds,
          signal: request.signal,
          wantPredicted: withPreview,
          onStep: async (step, _steps, predicted) => {
            if (!onStep) return;
            if (predicted) return preview(before + step, totalSteps, predicted);
            return onStep(step);
          },
        })
      : null;
    return (
      resident ??
      (await sampleFlow({
        noise,
        timesteps,
        guidance,
        signal: request.signal,
        onStep: async (step, _steps, _x, predicted) => {
          if (!onStep) return;
          if (!withPreview) return onStep(step);
          return preview(before + step, totalSteps, predicted);
        },
        denoise: async (x, t) => {
          const xx = new Float32Array(x.length * batch);
          for (let b = 0; b < batch; b++) xx.set(x, b * x.length);
          const out = await run('denoiser', { x: { type: 'float32', data: xx, dims: [batch, frames, dim] }, t: { type: 'float32', data: new Float32Array(batch).fill(t), dims: [batch] }, ...textFeeds });
          const v = (out.velocity as PlainTensor).data as Float32Array;
          return { conditioned: v.subarray(0, x.length), unconditioned: batch === 2 ? v.subarray(x.length) : null };
        },
      }))
    );
  };
  let noise = initialNoise(request.seed, manifest.tokens);
  if (temperature) {
    // The first draw, from the same noise at full scale, finds the figure, which keeps its full temperature.
    const first = await draw(noise, Array.from({ length: firstSteps + 1 }, (_, i) => 1 - i / firstSteps), 0, false);
    noise = temperedNoise(noise, first, manifest.tokens, temperature);
  }
  const tokens = await draw(noise, timesteps, firstSteps, true);
  const stepsMs = now() - t0;

  const tokenFeed: PlainTensor = { type: 'float32', data: tokens, dims: [frames, dim] };
  t0 = now();
  const rgb = (await run('videoDecoder', { tokens: tokenFeed, ...decoderCameo })).rgb as PlainTensor;
  const videoMs = now() - t0;
  t0 = now();
  const wave = (await run('audioDecoder', { tokens: tokenFeed })).wave as PlainTensor;
  const audioMs = now() - t0;
  const { width, height } = manifest.output;
  const pixels = rgb.data as Float32Array;
  if (pixels.length !== frames * width * height * 3) throw new UnsupportedError({ feature: `a video decoder making ${pixels.length} values for ${frames} frames of ${width}×${height}` });
  return {
    frames: toBytes(pixels),
    frameCount: frames,
    width,
    height,
    fps: manifest.output.fps,
    audio: Float32Array.from(wave.data as Float32Array),
    sampleRate: manifest.output.sampleRate,
    unknownWords: encoded[0]?.encoded.unknownWords ?? [],
    timings: { textMs, stepsMs, videoMs, audioMs },
  };
}
