import { randomAppearance } from './cameo.ts';
import { MATERIAL_SPECS } from './materials.ts';
import { SETTING_PALETTES } from './palette.ts';
import { SeededRandom } from './rng.ts';
import { rampVertices } from './simulate.ts';
import {
  COLOURS,
  parseScene,
  SETTINGS,
  STAGE_HALF_WIDTH,
  TIMES_OF_DAY,
  type Colour,
  type Material,
  type Scene,
  type SceneInput,
  type Setting,
  type Shot,
  type TimeOfDay,
} from './scene.ts';

/**
 * Random scenes for the dataset, deterministic from a seed. Every scene has a ball that falls and
 * bounces in the first shot, which is wide, so each clip shows gravity, an impact and its sound.
 * Different groups of things get different colours, so a colour names one group.
 */
export interface SampleOptions {
  readonly durationS?: number;
  readonly fps?: number;
  /** Most shots in a clip (cuts at frame boundaries, each shot ≥ 0.5 s). */
  readonly maxShots?: number;
  /**
   * Cameo training data: every scene has a figure, wearing a random face (randomAppearance). A
   * scene already full (4 objects) loses its last extra dropped ball to make room for the figure's.
   */
  readonly cameo?: boolean;
}

/** The stream of a scene's seed that the figure's face is drawn from ('face'). */
const APPEARANCE_STREAM = 0x6661_6365;

const BALLS = ['rubber ball', 'basketball', 'bowling ball', 'tennis ball'] as const satisfies readonly Material[];

function colourTemp(rng: SeededRandom, time: TimeOfDay, outdoor: boolean): number {
  switch (time) {
    case 'morning': return rng.uniform(4500, 6000);
    case 'noon': return rng.uniform(5500, 7000);
    case 'sunset': return rng.uniform(2900, 4000);
    case 'night': return outdoor ? rng.uniform(3600, 5000) : rng.uniform(4200, 6500);
  }
}

/**
 * Shot lengths that add up to the clip. The first (wide) shot lasts ≥ 1 s, so the drop and its first
 * bounce are seen in it; later shots last ≥ 0.5 s.
 */
export function splitShots(rng: SeededRandom, durationS: number, fps: number, count: number): number[] {
  const frames = Math.round(durationS * fps);
  const minFrames = Math.ceil(0.5 * fps);
  const firstMin = Math.min(frames, Math.ceil(1 * fps));
  const n = Math.max(1, Math.min(count, 1 + Math.floor((frames - firstMin) / minFrames)));
  const cuts: number[] = [];
  let left = frames;
  for (let i = n; i > 1; i--) {
    const least = cuts.length === 0 ? firstMin : minFrames;
    const take = rng.int(least, left - minFrames * (i - 1));
    cuts.push(take);
    left -= take;
  }
  cuts.push(left);
  return cuts.map((f) => f / fps);
}

/** A scene under construction: place, time and light set, nothing in it yet. */
export type SceneDraft = SceneInput & { objects: NonNullable<SceneInput['objects']> };

/** Starts a scene; the light's direction and colour temperature are drawn from `rng`. */
export function sceneDraft(rng: SeededRandom, seed: number, durationS: number, fps: number, setting: Setting, timeOfDay: TimeOfDay): SceneDraft {
  return {
    version: 1,
    seed,
    durationS,
    fps,
    setting,
    lighting: { timeOfDay, azimuthDeg: rng.uniform(-60, 60), colourTempK: colourTemp(rng, timeOfDay, SETTING_PALETTES[setting].outdoor) },
    objects: [],
    shots: [],
  };
}

export function sampleScene(seed: number, options: SampleOptions = {}): Scene {
  const durationS = options.durationS ?? 2;
  const fps = options.fps ?? 12;
  const rng = new SeededRandom(seed, 0x5ce7e);
  const setting = rng.pick(SETTINGS);
  const timeOfDay = rng.pick(TIMES_OF_DAY);
  const colours = rng.shuffle(COLOURS);
  let nextColour = 0;
  const takeColour = (): Colour => colours[nextColour++ % colours.length] as Colour;

  const scene = sceneDraft(rng, seed, durationS, fps, setting, timeOfDay);

  // Stage pieces on distinct sides so they never overlap.
  const [sideA, sideB] = rng.chance(0.5) ? (['left', 'right'] as const) : (['right', 'left'] as const);
  const occupied: [number, number][] = [];
  if (rng.chance(0.35)) {
    scene.hoop = { side: sideA };
  }
  if (rng.chance(0.3)) {
    const ramp = { side: scene.hoop ? sideB : sideA, angleDeg: rng.uniform(15, 32), length: rng.uniform(1.4, 2.2) };
    scene.ramp = ramp;
    const v = rampVertices(ramp);
    occupied.push([Math.min(...v.map((p) => p[0])), Math.max(...v.map((p) => p[0]))]);
  }
  if (rng.chance(0.25)) {
    const anchorX = rng.uniform(-1.6, 1.6);
    scene.pendulum = { anchorX, length: rng.uniform(1.0, 1.8), startAngleDeg: rng.pick([-1, 1]) * rng.uniform(25, 60), bob: { id: 'bob', material: rng.pick(BALLS), colour: takeColour() } };
  }
  const free = (x: number, halfWidth: number) => occupied.every(([a, b]) => x + halfWidth < a || x - halfWidth > b);
  if (rng.chance(0.3)) {
    for (let attempt = 0; attempt < 8; attempt++) {
      const x = rng.uniform(-2.3, 2.3);
      if (free(x, 0.4)) {
        scene.boxStack = { x, colour: takeColour(), count: rng.int(2, 4), lean: rng.chance(0.4) ? rng.pick([-1, 1]) * rng.uniform(0.08, 0.16) : 0 };
        occupied.push([x - 0.45, x + 0.45]);
        break;
      }
    }
  }

  // The dropped ball: always there, so every clip has a fall, a bounce and its sound.
  const placeBall = (id: string, material: Material, colour: Colour, yLo: number, yHi: number): [number, number] | undefined => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const x = rng.uniform(-2.4, 2.4);
      if (!free(x, 0.3) && attempt < 11) continue;
      const span: [number, number] = [x - 0.3, x + 0.3];
      occupied.push(span);
      scene.objects.push({ id, material, colour, x, y: rng.uniform(yLo, yHi), vx: rng.uniform(-1.5, 1.5), vy: rng.uniform(-0.5, 1.5), spin: rng.uniform(-3, 3) });
      return span;
    }
    return undefined;
  };
  const shared = rng.chance(0.12);
  const firstMaterial = rng.pick(BALLS);
  const firstColour = takeColour();
  placeBall('ball-1', firstMaterial, firstColour, 1.6, 3.4);
  const extra = rng.weighted([0, 1, 2], [0.45, 0.4, 0.15]);
  const extras: { readonly id: string; readonly span: [number, number] | undefined }[] = [];
  for (let i = 0; i < extra; i++) {
    // Now and then a second ball of the same kind and colour ("two red rubber balls").
    const same = shared && i === 0;
    const material: Material = same ? firstMaterial : rng.chance(0.12) ? 'wooden box' : rng.pick(BALLS);
    const id = `ball-${i + 2}`;
    extras.push({ id, span: placeBall(id, material, same ? firstColour : takeColour(), 0.6, 3.2) });
  }
  const ramp = scene.ramp;
  if (ramp && rng.chance(0.6) && scene.objects.length < 4) {
    // A ball released at the top of the ramp rolls down it.
    const v = rampVertices({ side: ramp.side, angleDeg: ramp.angleDeg, length: ramp.length });
    const material = rng.pick(BALLS);
    const r = MATERIAL_SPECS[material].size;
    const top = v[2] ?? [0, 1];
    const inward = ramp.side === 'right' ? -1 : 1;
    scene.objects.push({ id: `ball-${scene.objects.length + 1}`, material, colour: takeColour(), x: top[0] + inward * (0.25 + r), y: top[1] + r + 0.05, vx: 0, vy: 0, spin: 0 });
  }
  // Drawn whether or not the option asks for a figure, so a cameo scene keeps the draws (stage,
  // balls, shots) of the plain scene of its seed as far as it can.
  const figure = rng.chance(0.3) || options.cameo === true;
  const dropped = options.cameo === true && scene.objects.length >= 4 ? extras.at(-1) : undefined;
  if (dropped) {
    // Room for the figure's ball: an extra dropped one goes (never ball-1, whose fall each clip
    // shows, nor the ramp's ball), and the rest are renumbered so ids stay ball-1…ball-n.
    if (dropped.span) occupied.splice(occupied.indexOf(dropped.span), 1);
    scene.objects = scene.objects.filter((o) => o.id !== dropped.id).map((o, i) => ({ ...o, id: `ball-${i + 1}` }));
  }
  if (figure && scene.objects.length < 4) {
    const facing = scene.hoop ? (scene.hoop.side === 'right' ? 'right' : 'left') : rng.pick(['left', 'right'] as const);
    // Stand clear of the stack and the ramp: a throw from inside a stack only blows it apart.
    let x = (facing === 'right' ? -1 : 1) * rng.uniform(1.2, 2.3);
    for (let attempt = 0; attempt < 8 && !free(x, 0.5); attempt++) x = (facing === 'right' ? -1 : 1) * rng.uniform(1.0, 2.4);
    const action = scene.hoop ? (rng.chance(0.8) ? 'throw' : 'kick') : rng.pick(['throw', 'kick'] as const);
    const id = `ball-${scene.objects.length + 1}`;
    scene.objects.push({ id, material: rng.pick(['rubber ball', 'basketball', 'tennis ball'] as const), colour: takeColour(), x, y: 1, vx: 0, vy: 0, spin: 0 });
    scene.character = { x, facing, action, objectId: id, releaseAtS: rng.uniform(0.35, Math.min(0.9, durationS / 2)) };
    // Its own stream: the face does not depend on how many draws the scene took, nor shifts them.
    if (options.cameo) scene.character.appearance = randomAppearance(new SeededRandom(seed, APPEARANCE_STREAM));
  }

  const targets: string[] = [
    ...scene.objects.map((o) => o.id),
    ...(scene.hoop ? ['hoop'] : []),
    ...(scene.boxStack ? ['stack'] : []),
    ...(scene.pendulum ? ['pendulum'] : []),
    ...(scene.character ? ['character'] : []),
  ];
  const lengths = splitShots(rng, durationS, fps, rng.weighted([1, 2, 3], [0.6, 0.3, 0.1].slice(0, options.maxShots ?? 3)));
  scene.shots = lengths.map((len, i): Shot => {
    // The first shot is wide and static or panning, so everything the prompt names is seen.
    const framing = i === 0 ? 'wide' : rng.chance(0.6) ? 'close' : 'wide';
    const motion = i === 0 ? rng.weighted(['static', 'pan'] as const, [0.75, 0.25]) : rng.weighted(['static', 'pan', 'follow'] as const, [0.6, 0.2, 0.2]);
    const needsTarget = framing === 'close' || motion === 'follow';
    return { durationS: len, framing, motion, ...(needsTarget ? { target: rng.pick(targets) } : {}) };
  });
  // Exact sum despite float steps: the last shot takes the remainder.
  const head = scene.shots.slice(0, -1).reduce((t, s) => t + (s.durationS ?? 0), 0);
  const last = scene.shots[scene.shots.length - 1];
  if (last) last.durationS = durationS - head;

  if (scene.objects.some((o) => Math.abs(o.x) > STAGE_HALF_WIDTH)) throw new RangeError('sampler placed an object off the stage');
  if (options.cameo && !scene.character?.appearance) throw new RangeError('sampler left a cameo scene without its figure');
  return parseScene(scene);
}
