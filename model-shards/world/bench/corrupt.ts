import { makeClip, renderTrace, type Clip } from '../clip.ts';
import { describeScene } from '../prompts.ts';
import { SeededRandom } from '../rng.ts';
import { COLOURS, STAGE_HALF_WIDTH, type Colour, type Scene } from '../scene.ts';
import type { BodyPose, FramePose, Trace } from '../trace.ts';

/**
 * Deliberately broken clips, to calibrate the judge: each kind must fail on one axis.
 */
export const BREAKS = {
  shuffled: 'physics',
  reversed: 'physics',
  'gravity-flipped': 'physics',
  teleported: 'physics',
  recoloured: 'physics',
  'audio-shifted': 'sync',
  'wrong-colour': 'adherence',
} as const;
export type BreakKind = keyof typeof BREAKS;
export const BREAK_KINDS = Object.keys(BREAKS) as BreakKind[];

export interface BrokenClip {
  readonly frames: Uint8Array;
  readonly audio: Float32Array;
  readonly prompt: string;
}

const AUDIO_SHIFT_S = 0.2;

function frameOrder(clip: Clip, order: readonly number[]): Uint8Array {
  const frameBytes = clip.size * clip.size * 3;
  const out = new Uint8Array(clip.frames.length);
  order.forEach((from, to) => out.set(clip.frames.subarray(from * frameBytes, (from + 1) * frameBytes), to * frameBytes));
  return out;
}

/** The object a break acts on: the first free object in view at `frame` (and the frame before, when asked): a break nobody can see is no test. */
function victim(clip: Clip, frame: number, alsoBefore = false): string {
  const inView = (id: string, f: number) => {
    const view = clip.views[f];
    const b = clip.trace.frames[f]?.bodies.find((body) => body.id === id);
    if (!b || !view) return false;
    const half = view.width / 2 - 0.25;
    return Math.abs(b.x - view.cx) < half && Math.abs(b.y - view.cy) < half;
  };
  const seen = (id: string) => inView(id, frame) && (!alsoBefore || inView(id, frame - 1));
  const id = clip.scene.objects.find((o) => seen(o.id))?.id ?? clip.scene.objects[0]?.id ?? clip.trace.frames[0]?.bodies[0]?.id;
  if (!id) throw new RangeError('the clip has nothing to break');
  return id;
}

function unusedColour(scene: Scene, rng: SeededRandom): Colour {
  const used = new Set<Colour>([...scene.objects.map((o) => o.colour), ...(scene.pendulum ? [scene.pendulum.bob.colour] : []), ...(scene.boxStack ? [scene.boxStack.colour] : [])]);
  const free = COLOURS.filter((c) => !used.has(c));
  return rng.pick(free.length > 0 ? free : COLOURS.filter((c) => c !== scene.objects[0]?.colour));
}

/** Re-renders a trace whose poses from frame `from` on are changed by `edit`. */
function editPoses(clip: Clip, from: number, id: string, edit: (b: BodyPose) => BodyPose): Uint8Array {
  const frames: FramePose[] = clip.trace.frames.map((f, i) => (i < from ? f : { ...f, bodies: f.bodies.map((b) => (b.id === id ? edit(b) : b)) }));
  const trace: Trace = { ...clip.trace, frames };
  return renderTrace(trace, clip.size).frames;
}

export async function breakClip(clip: Clip, kind: BreakKind, seed: number): Promise<BrokenClip> {
  const rng = new SeededRandom(seed, 0xb4eac);
  const count = clip.trace.frames.length;
  const same = { frames: clip.frames, audio: clip.audio, prompt: clip.prompt };
  switch (kind) {
    case 'shuffled': {
      let order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
      if (order.every((v, i) => v === i)) order = order.reverse();
      return { ...same, frames: frameOrder(clip, order) };
    }
    case 'reversed':
      return { ...same, frames: frameOrder(clip, Array.from({ length: count }, (_, i) => count - 1 - i)) };
    case 'gravity-flipped': {
      const flipped = await makeClip({ ...clip.scene, gravityScale: -1 }, { size: clip.size, sampleRate: clip.sampleRate });
      return { frames: flipped.frames, audio: flipped.audio, prompt: clip.prompt };
    }
    case 'teleported': {
      // Mid-shot: a jump at a cut is just the cut (the new view may show anything anywhere).
      const cutNear = (f: number) => [f - 1, f, f + 1].some((g) => g > 0 && clip.views[g]?.shot !== clip.views[g - 1]?.shot);
      const candidates = Array.from({ length: count }, (_, f) => f).filter((f) => f >= Math.floor(count / 3) && f <= Math.floor((2 * count) / 3) && !cutNear(f));
      const from = candidates.length > 0 ? rng.pick(candidates) : rng.int(Math.floor(count / 3), Math.floor((2 * count) / 3));
      const id = victim(clip, from, true);
      const at = clip.trace.frames[from]?.bodies.find((b) => b.id === id);
      const dx = (at && at.x > 0 ? -1 : 1) * rng.uniform(1.8, 2.6);
      const dy = rng.uniform(0.3, 1.2);
      return { ...same, frames: editPoses(clip, from, id, (b) => ({ ...b, x: Math.max(-STAGE_HALF_WIDTH + 0.2, Math.min(STAGE_HALF_WIDTH - 0.2, b.x + dx)), y: b.y + dy })) };
    }
    case 'recoloured': {
      const colour = unusedColour(clip.scene, rng);
      const from = rng.int(Math.floor(count / 3), Math.floor((2 * count) / 3));
      const id = victim(clip, from);
      return { ...same, frames: editPoses(clip, from, id, (b) => ({ ...b, colour })) };
    }
    case 'audio-shifted': {
      // Delayed by 200 ms; the last 200 ms wrap to the front so the bed has no gap (a gap would be an onset).
      const shift = Math.round(AUDIO_SHIFT_S * clip.sampleRate);
      const audio = new Float32Array(clip.audio.length);
      audio.set(clip.audio.subarray(clip.audio.length - shift), 0);
      audio.set(clip.audio.subarray(0, clip.audio.length - shift), shift);
      return { ...same, audio };
    }
    case 'wrong-colour': {
      const id = victim(clip, 0);
      const colour = unusedColour(clip.scene, rng);
      const wrong: Scene = { ...clip.scene, objects: clip.scene.objects.map((o) => (o.id === id ? { ...o, colour } : o)) };
      return { ...same, prompt: describeScene(wrong, clip.scene.seed) };
    }
  }
}

