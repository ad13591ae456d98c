import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GRAPH_ROLES, IntegrityError, manifestFiles, parseManifestJson, ValidationError, WordTokenizer, type GraphRole, type Manifest } from '../contracts/index.ts';
import { initialNoise, sampleFlow, type TokenLayout } from '../workers/src/engine/flow.ts';

/**
 * A model folder (manifest.json, ONNX graphs, shards, tokenizer) run with onnxruntime-node: the
 * reference generator, the parity check and, later, the Pro render node. Every file is checked
 * against the manifest's sha256 before a session opens.
 */

export interface GenerateOptions {
  readonly prompt: string;
  readonly seed: number;
  readonly steps?: number;
  readonly guidance?: number;
  readonly signal?: AbortSignal;
  readonly onStep?: (step: number, steps: number) => void;
}

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

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export async function verifyModelFolder(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch (error) {
    throw new ValidationError([{ field: 'model', message: `has no readable manifest.json in ${dir} (${(error as Error).message})` }]);
  }
  const manifest = parseManifestJson(text);
  for (const f of manifestFiles(manifest)) {
    const bytes = new Uint8Array(await readFile(join(dir, f.file)));
    const actual = sha256(bytes);
    if (bytes.length !== f.bytes || actual !== f.sha256) throw new IntegrityError({ url: join(dir, f.file), expected: `${f.sha256} (${f.bytes} bytes)`, actual: `${actual} (${bytes.length} bytes)` });
  }
  return manifest;
}

export class OnnxModel {
  private constructor(
    readonly manifest: Manifest,
    readonly tokenizer: WordTokenizer,
    private readonly sessions: Record<GraphRole, ort.InferenceSession>,
  ) {}

  static async load(dir: string, options: ort.InferenceSession.SessionOptions = {}): Promise<OnnxModel> {
    const manifest = await verifyModelFolder(dir);
    const tokenizer = WordTokenizer.parse(JSON.parse(await readFile(join(dir, manifest.tokenizer.file), 'utf8')));
    const sessions = {} as Record<GraphRole, ort.InferenceSession>;
    for (const role of GRAPH_ROLES) {
      sessions[role] = await ort.InferenceSession.create(join(dir, manifest.graphs[role].file), { graphOptimizationLevel: 'all', ...options });
    }
    return new OnnxModel(manifest, tokenizer, sessions);
  }

  get layout(): TokenLayout {
    return this.manifest.tokens;
  }

  async run(role: GraphRole, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    const out = await this.sessions[role].run(feeds);
    for (const [name, tensor] of Object.entries(out)) {
      const data = tensor.data as Float32Array;
      if (tensor.type === 'float32' && data.some((v) => !Number.isFinite(v))) throw new RangeError(`${role} output ${name} holds NaN or infinite values`);
    }
    return out;
  }

  async encodePrompt(prompt: string): Promise<{ text: ort.Tensor; pooled: ort.Tensor; mask: ort.Tensor; unknownWords: string[] }> {
    const { ids, mask, encoded } = this.tokenizer.tensors(prompt);
    const L = this.tokenizer.maxTokens;
    const out = await this.run('textEncoder', { ids: new ort.Tensor('int64', ids, [1, L]), mask: new ort.Tensor('float32', mask, [1, L]) });
    return { text: out.text as ort.Tensor, pooled: out.pooled as ort.Tensor, mask: new ort.Tensor('float32', mask, [1, L]), unknownWords: encoded.unknownWords };
  }

  async generate(options: GenerateOptions): Promise<GeneratedClip> {
    const { manifest } = this;
    const steps = options.steps ?? manifest.sampler.steps;
    const guidance = options.guidance ?? manifest.sampler.guidance;
    const timesteps = steps === manifest.sampler.steps ? manifest.sampler.timesteps : Array.from({ length: steps + 1 }, (_, i) => 1 - i / steps);
    const { frames, videoNumbers, audioNumbers } = this.layout;
    const dim = videoNumbers + audioNumbers;
    let t0 = performance.now();
    const cond = await this.encodePrompt(options.prompt);
    const uncond = await this.encodePrompt('');
    const textMs = performance.now() - t0;
    // Conditioned and unconditioned prompts in one batch of two.
    const cat = (a: ort.Tensor, b: ort.Tensor) => {
      const out = new Float32Array(a.size * 2);
      out.set(a.data as Float32Array, 0);
      out.set(b.data as Float32Array, a.size);
      return new ort.Tensor('float32', out, [2, ...a.dims.slice(1)]);
    };
    const text = cat(cond.text, uncond.text);
    const pooled = cat(cond.pooled, uncond.pooled);
    const mask = cat(cond.mask, uncond.mask);
    t0 = performance.now();
    const tokens = await sampleFlow({
      noise: initialNoise(options.seed, this.layout),
      timesteps,
      guidance,
      signal: options.signal,
      onStep: (step, total) => options.onStep?.(step, total),
      denoise: async (x, t) => {
        const xx = new Float32Array(x.length * 2);
        xx.set(x, 0);
        xx.set(x, x.length);
        const out = await this.run('denoiser', { x: new ort.Tensor('float32', xx, [2, frames, dim]), t: new ort.Tensor('float32', Float32Array.of(t, t), [2]), text, pooled, mask });
        const v = (out.velocity as ort.Tensor).data as Float32Array;
        return { conditioned: v.subarray(0, x.length), unconditioned: v.subarray(x.length) };
      },
    });
    const stepsMs = performance.now() - t0;
    const tokenTensor = new ort.Tensor('float32', tokens, [frames, dim]);
    t0 = performance.now();
    const rgb = (await this.run('videoDecoder', { tokens: tokenTensor })).rgb as ort.Tensor;
    const videoMs = performance.now() - t0;
    t0 = performance.now();
    const wave = (await this.run('audioDecoder', { tokens: tokenTensor })).wave as ort.Tensor;
    const audioMs = performance.now() - t0;
    const pixels = rgb.data as Float32Array;
    const bytes = new Uint8Array(pixels.length);
    for (let i = 0; i < pixels.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, pixels[i] as number)) * 255);
    return {
      frames: bytes,
      frameCount: frames,
      width: manifest.output.width,
      height: manifest.output.height,
      fps: manifest.output.fps,
      audio: Float32Array.from(wave.data as Float32Array),
      sampleRate: manifest.output.sampleRate,
      unknownWords: cond.unknownWords,
      timings: { textMs, stepsMs, videoMs, audioMs },
    };
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }
}
