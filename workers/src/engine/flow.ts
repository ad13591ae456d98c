import { CanceledError, gaussianNoise, NOISE_STREAM, type Temperature } from '../../../contracts/index.ts';

/**
 * The sampler every runtime shares (tab, Node reference generator, Pro render node): Euler steps of
 * a rectified flow from noise (t = 1) to frame tokens (t = 0) over the model's distilled schedule,
 * with classifier-free guidance. Environment-neutral: the caller supplies the denoiser.
 */

/** Shape of a clip's frame tokens: per frame, the video latent then the audio latent. */
export interface TokenLayout {
  readonly frames: number;
  readonly videoNumbers: number;
  readonly audioNumbers: number;
}

export const tokenDim = (l: TokenLayout) => l.videoNumbers + l.audioNumbers;

/**
 * A clip's starting noise [frames × (video + audio)], row-major: the video part is noise stream
 * `videoLatent` (element frame × videoNumbers + channel), the audio part stream `audioLatent` — the
 * same numbers as `initial_noise` in training, bit for bit.
 */
export function initialNoise(seed: number, layout: TokenLayout): Float32Array {
  const { frames, videoNumbers: nv, audioNumbers: na } = layout;
  const video = gaussianNoise(seed, NOISE_STREAM.videoLatent, frames * nv);
  const audio = gaussianNoise(seed, NOISE_STREAM.audioLatent, frames * na);
  const out = new Float32Array(frames * (nv + na));
  for (let f = 0; f < frames; f++) {
    out.set(video.subarray(f * nv, (f + 1) * nv), f * (nv + na));
    out.set(audio.subarray(f * na, (f + 1) * na), f * (nv + na) + nv);
  }
  return out;
}

/**
 * The background latent's cells kept at full temperature, [frames × side × side] (1 = kept), from the
 * head slot of a first draw (normalised tokens): the manifest's `sampler.temperature`. The same
 * arithmetic as `figure_cells` in training (float64, cell centres at (i + 0.5) / side).
 */
export function figureCells(first: Float32Array, layout: TokenLayout, temperature: Temperature): Uint8Array {
  const { frames, videoNumbers, audioNumbers } = layout;
  const dim = videoNumbers + audioNumbers;
  const { side } = temperature.latent;
  const { at, mean, std } = temperature.head;
  if (first.length !== frames * dim) throw new RangeError(`the first draw has ${first.length} numbers, not ${frames} frames × ${dim}`);
  const keep = new Uint8Array(frames * side * side);
  for (let f = 0; f < frames; f++) {
    const value = (k: 0 | 1 | 2) => (first[f * dim + at + k] as number) * std[k] + mean[k];
    if (!(value(0) > 0.5)) continue;
    const [hx, hy] = [value(1), value(2)];
    for (let cy = 0; cy < side; cy++) {
      const dy = (cy + 0.5) / side - hy;
      if (!(dy >= -temperature.above && dy <= temperature.below)) continue;
      for (let cx = 0; cx < side; cx++) if (Math.abs((cx + 0.5) / side - hx) <= temperature.across) keep[(f * side + cy) * side + cx] = 1;
    }
  }
  // One frame either side.
  const near = Uint8Array.from(keep);
  const cells = side * side;
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < cells; i++) {
      if (keep[f * cells + i] && f > 0) near[(f - 1) * cells + i] = 1;
      if (keep[f * cells + i] && f + 1 < frames) near[(f + 1) * cells + i] = 1;
    }
  }
  return near;
}

/**
 * The clip's starting noise at the manifest's temperature: the background latent's numbers times
 * `scale` (rounded to float32, as training multiplies a float32 tensor) except on the figure's cells.
 */
export function temperedNoise(noise: Float32Array, first: Float32Array, layout: TokenLayout, temperature: Temperature): Float32Array {
  const { frames, videoNumbers, audioNumbers } = layout;
  const dim = videoNumbers + audioNumbers;
  const { channels, side } = temperature.latent;
  const cells = side * side;
  const keep = figureCells(first, layout, temperature);
  const scale = Math.fround(temperature.scale);
  const out = Float32Array.from(noise);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < cells; i++) {
        const k = f * dim + c * cells + i;
        if (!keep[f * cells + i]) out[k] = (out[k] as number) * scale;
      }
    }
  }
  return out;
}

/** Velocity of the conditioned and the unconditioned prompt at (x, t), both [frames × dim]. */
export type Denoise = (x: Float32Array, t: number) => Promise<{ conditioned: Float32Array; unconditioned: Float32Array | null }>;

export interface FlowOptions {
  readonly noise: Float32Array;
  /** From 1 (noise) down to 0 (data), strictly decreasing: the manifest's `sampler.timesteps`. */
  readonly timesteps: readonly number[];
  readonly guidance: number;
  readonly denoise: Denoise;
  readonly signal?: AbortSignal;
  /** After each step: its index (1-based), the step count, the current tokens and the model's guess of the clean tokens at this step (x − t·v). */
  readonly onStep?: (step: number, steps: number, x: Float32Array, predicted: Float32Array) => void | Promise<void>;
}

function checkSchedule(timesteps: readonly number[]): void {
  if (timesteps.length < 2) throw new RangeError('timesteps must hold at least 2 values (one step)');
  timesteps.forEach((t, i) => {
    if (!(t >= 0 && t <= 1)) throw new RangeError(`timesteps[${i}] must be within 0–1 (got ${t})`);
    if (i > 0 && t >= (timesteps[i - 1] ?? Infinity)) throw new RangeError(`timesteps must decrease strictly (timesteps[${i}] = ${t})`);
  });
}

export async function sampleFlow(options: FlowOptions): Promise<Float32Array> {
  const { timesteps, guidance, denoise, signal } = options;
  checkSchedule(timesteps);
  const x = Float32Array.from(options.noise);
  const steps = timesteps.length - 1;
  for (let i = 0; i < steps; i++) {
    if (signal?.aborted) throw new CanceledError('generation was canceled');
    const t0 = timesteps[i] as number;
    const t1 = timesteps[i + 1] as number;
    const { conditioned, unconditioned } = await denoise(x, t0);
    if (conditioned.length !== x.length || (unconditioned && unconditioned.length !== x.length)) {
      throw new RangeError(`the denoiser returned ${conditioned.length} values for ${x.length} tokens`);
    }
    const dt = t1 - t0;
    const predicted = options.onStep ? new Float32Array(x.length) : null;
    for (let k = 0; k < x.length; k++) {
      const c = conditioned[k] as number;
      const v = unconditioned && guidance !== 1 ? (unconditioned[k] as number) + guidance * (c - (unconditioned[k] as number)) : c;
      if (predicted) predicted[k] = (x[k] as number) - t0 * v;
      x[k] = (x[k] as number) + dt * v;
    }
    if (predicted) await options.onStep?.(i + 1, steps, x, predicted);
  }
  if (signal?.aborted) throw new CanceledError('generation was canceled');
  return x;
}
