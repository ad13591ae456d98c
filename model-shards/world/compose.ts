import { ValidationError } from '../../contracts/index.ts';
import { MATERIAL_SPECS } from './materials.ts';
import { parsePrompt, type PromptFacts } from './prompts.ts';
import { SeededRandom } from './rng.ts';
import { sceneDraft, splitShots } from './sample.ts';
import { rampVertices } from './simulate.ts';
import { COLOURS, parseScene, SETTINGS, TIMES_OF_DAY, type Colour, type Material, type Scene, type Shot } from './scene.ts';

/**
 * From what a prompt states to a full scene: every stated fact is kept, everything left unsaid
 * (positions, light direction, shot lengths, and the setting or time if not named) is chosen from
 * the seed. `describeScene(sceneFromFacts(f, s))` states the same facts `f` again.
 */
export interface ComposeOptions {
  readonly durationS?: number;
  readonly fps?: number;
}

export function sceneFromFacts(facts: PromptFacts, seed: number, options: ComposeOptions = {}): Scene {
  const durationS = options.durationS ?? 2;
  const fps = options.fps ?? 12;
  const rng = new SeededRandom(seed, 0xc0405e);
  const setting = facts.setting ?? rng.pick(SETTINGS);
  const timeOfDay = facts.timeOfDay ?? rng.pick(TIMES_OF_DAY);
  const scene = sceneDraft(rng, seed, durationS, fps, setting, timeOfDay);
  const [sideA, sideB] = rng.chance(0.5) ? (['left', 'right'] as const) : (['right', 'left'] as const);
  const occupied: [number, number][] = [];
  const free = (x: number, half: number) => occupied.every(([a, b]) => x + half < a || x - half > b);
  const place = (half: number, lo = -2.4, hi = 2.4): number => {
    let x = rng.uniform(lo, hi);
    for (let attempt = 0; attempt < 16 && !free(x, half); attempt++) x = rng.uniform(lo, hi);
    occupied.push([x - half, x + half]);
    return x;
  };
  if (facts.hoop) scene.hoop = { side: sideA };
  if (facts.ramp) {
    const ramp = { side: facts.hoop ? sideB : sideA, angleDeg: rng.uniform(15, 32), length: rng.uniform(1.4, 2.2) };
    scene.ramp = ramp;
    const xs = rampVertices(ramp).map((v) => v[0]);
    occupied.push([Math.min(...xs), Math.max(...xs)]);
  }
  if (facts.pendulum) {
    scene.pendulum = { anchorX: rng.uniform(-1.6, 1.6), length: rng.uniform(1.0, 1.8), startAngleDeg: rng.pick([-1, 1]) * rng.uniform(25, 60), bob: { id: 'bob', ...facts.pendulum } };
  }
  if (facts.boxStack) scene.boxStack = { x: place(0.45, -2.3, 2.3), colour: facts.boxStack.colour, count: facts.boxStack.count, lean: 0 };

  // The free objects, each stated group in turn; the first ball falls from a height so the clip shows a bounce.
  const wanted: { material: Material; colour: Colour }[] = facts.objects.flatMap((o) => Array.from({ length: o.count }, () => ({ material: o.material, colour: o.colour })));
  if (facts.character && !wanted.some((o) => o.material !== 'wooden box')) {
    // A figure needs something to throw or kick; the prompt named none, so it gets a rubber ball.
    const used = new Set<Colour>([...wanted.map((o) => o.colour), ...(facts.pendulum ? [facts.pendulum.colour] : []), ...(facts.boxStack ? [facts.boxStack.colour] : [])]);
    wanted.push({ material: 'rubber ball', colour: COLOURS.find((c) => !used.has(c)) ?? 'red' });
  }
  if (wanted.length + (facts.pendulum ? 1 : 0) + (facts.boxStack?.count ?? 0) === 0) {
    throw new ValidationError([{ field: 'prompt', message: 'names nothing that moves: mention a ball, a box, a stack or a pendulum' }]);
  }
  if (wanted.length > 4) throw new ValidationError([{ field: 'prompt', message: `names ${wanted.length} loose objects; the world holds at most 4` }]);
  // The figure throws or kicks the last ball the prompt names (describeScene names it last).
  const thrownIndex = facts.character ? wanted.findLastIndex((o) => o.material !== 'wooden box') : -1;
  wanted.forEach((o, i) => {
    const id = `ball-${i + 1}`;
    if (i === thrownIndex) {
      scene.objects.push({ id, material: o.material, colour: o.colour, x: 0, y: 1, vx: 0, vy: 0, spin: 0 });
      return;
    }
    const size = MATERIAL_SPECS[o.material].size;
    const x = place(0.3);
    scene.objects.push({ id, material: o.material, colour: o.colour, x, y: i === 0 ? rng.uniform(1.6, 3.4) : rng.uniform(size + 0.5, 3.2), vx: rng.uniform(-1.5, 1.5), vy: rng.uniform(-0.5, 1.5), spin: rng.uniform(-3, 3) });
  });
  if (facts.character && thrownIndex >= 0) {
    const facing = scene.hoop ? scene.hoop.side : rng.pick(['left', 'right'] as const);
    const x = place(0.5, facing === 'right' ? -2.4 : 1.0, facing === 'right' ? -1.0 : 2.4);
    const held = scene.objects[thrownIndex];
    if (held) held.x = x;
    scene.character = { x, facing, action: facts.character.action, objectId: `ball-${thrownIndex + 1}`, releaseAtS: rng.uniform(0.35, Math.min(0.9, durationS / 2)) };
  }

  const stated = facts.shots.length > 0 ? facts.shots : [{}];
  const lengths = splitShots(rng, durationS, fps, stated.length);
  if (lengths.length < stated.length) {
    throw new ValidationError([{ field: 'prompt', message: `names ${stated.length} shots; a ${durationS} s clip holds at most ${lengths.length}` }]);
  }
  const firstTarget = scene.objects[0]?.id ?? (scene.pendulum ? 'pendulum' : 'stack');
  scene.shots = stated.map((shot, i): Shot => {
    const framing = shot.framing ?? 'wide';
    const motion = shot.motion ?? 'static';
    return { durationS: lengths[i] ?? 0, framing, motion, ...(framing === 'close' || motion === 'follow' ? { target: firstTarget } : {}) };
  });
  const head = scene.shots.slice(0, -1).reduce((t, s) => t + s.durationS, 0);
  const last = scene.shots[scene.shots.length - 1];
  if (last) last.durationS = durationS - head;
  return parseScene(scene);
}

/** A prompt as a scene: the parsed facts composed with the seed; unknown words are reported, not guessed. */
export function sceneFromPrompt(text: string, seed: number, options: ComposeOptions = {}): { scene: Scene; unknownWords: string[]; unresolved: string[] } {
  const parsed = parsePrompt(text);
  return { scene: sceneFromFacts(parsed.facts, seed, options), unknownWords: parsed.unknownWords, unresolved: parsed.unresolved };
}
