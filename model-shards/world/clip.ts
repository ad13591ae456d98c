import { synthesizeAudio } from './audio.ts';
import type { CameraView } from './camera.ts';
import { describeScene } from './prompts.ts';
import { createRenderer } from './render.ts';
import type { Scene } from './scene.ts';
import { simulate } from './simulate.ts';
import type { Trace } from './trace.ts';

/** One clip of the world: what the dataset stores and the bench judges. */
export interface Clip {
  readonly scene: Scene;
  readonly prompt: string;
  readonly size: number;
  readonly fps: number;
  /** RGB bytes, frames × size × size × 3. */
  readonly frames: Uint8Array;
  readonly sampleRate: number;
  /** Mono PCM in [−1, 1], sample-aligned with the frames (frame i starts at sample i·rate/fps). */
  readonly audio: Float32Array;
  readonly trace: Trace;
  readonly views: readonly CameraView[];
}

export interface ClipOptions {
  /** Frame side, px (default 128). */
  readonly size?: number;
  /** Audio sample rate (default 16000). */
  readonly sampleRate?: number;
}

export const DEFAULT_CLIP = Object.freeze({ size: 128, sampleRate: 16_000 });

/** Renders every frame of a trace into one buffer. */
export function renderTrace(trace: Trace, size: number): { frames: Uint8Array; views: readonly CameraView[] } {
  const renderer = createRenderer(trace, size);
  const frameBytes = size * size * 3;
  const frames = new Uint8Array(trace.frames.length * frameBytes);
  for (let i = 0; i < trace.frames.length; i++) frames.set(renderer.frame(i), i * frameBytes);
  return { frames, views: renderer.views };
}

export async function makeClip(scene: Scene, options: ClipOptions = {}): Promise<Clip> {
  const size = options.size ?? DEFAULT_CLIP.size;
  const sampleRate = options.sampleRate ?? DEFAULT_CLIP.sampleRate;
  const trace = await simulate(scene);
  const { frames, views } = renderTrace(trace, size);
  const audio = synthesizeAudio(trace, { sampleRate });
  return { scene, prompt: describeScene(scene, scene.seed), size, fps: scene.fps, frames, sampleRate, audio, trace, views };
}
