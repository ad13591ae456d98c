import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../contracts/index.ts';
import {
  DEFAULT_COLOURS,
  describeScene,
  factsOfScene,
  MAX_PROMPT_CHARS,
  parsePrompt,
  type PromptFacts,
} from '../../model-shards/world/prompts.ts';
import { sampleScene } from '../../model-shards/world/sample.ts';
import {
  CAMERA_MOTIONS,
  COLOURS,
  FRAMINGS,
  MATERIALS,
  parseScene,
  SETTINGS,
  TIMES_OF_DAY,
  type Colour,
  type Material,
  type Scene,
  type SceneInput,
} from '../../model-shards/world/scene.ts';

type Ball = Exclude<Material, 'wooden box'>;
const BALLS = MATERIALS.filter((m): m is Ball => m !== 'wooden box');
const at = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;

/**
 * Scene `i` of a fixed family that between them cover every setting, time, material, colour,
 * counts 1–3 of one kind, each stage piece, both actions and 1–3 shots of every framing and motion.
 */
function sceneNumber(i: number): Scene {
  const colour = (k: number): Colour => at(COLOURS, i + k);
  const objects: NonNullable<SceneInput['objects']> = [];
  const material = at(MATERIALS, i);
  const same = 1 + (i % 3);
  for (let k = 0; k < same; k++) {
    // Starts vary (falling, rolling, resting) so every verb family is written.
    const motion = (i + k) % 3;
    objects.push({ id: `obj-${k}`, material, colour: colour(0), x: -2 + k, y: motion === 0 ? 2 : 0.3, vx: motion === 1 ? 1 : 0 });
  }
  if (i % 4 === 1) objects.push({ id: 'other', material: at(MATERIALS, i + 2), colour: colour(3), x: 2.2, y: 1.5 });
  const scene: SceneInput = {
    version: 1,
    seed: i,
    durationS: 2,
    fps: 12,
    setting: at(SETTINGS, i),
    lighting: { timeOfDay: at(TIMES_OF_DAY, Math.floor(i / 4) + i), azimuthDeg: 0, colourTempK: 5500 },
    objects,
    shots: [],
  };
  if (i % 3 === 0) scene.hoop = { side: i % 2 === 0 ? 'right' : 'left' };
  if (i % 5 === 2) scene.ramp = { side: 'left', angleDeg: 25, length: 2 };
  if (i % 4 === 2) scene.pendulum = { anchorX: 0, length: 1.5, startAngleDeg: i % 8 === 2 ? 0 : 40, bob: { id: 'bob', material: at(BALLS, i + 1), colour: colour(1) } };
  if (i % 6 === 4) scene.boxStack = { x: 1.5, colour: colour(2), count: 2 + (i % 4) };
  if (i % 3 === 1 && material !== 'wooden box' && objects.length < 4) {
    objects.push({ id: 'held', material: at(BALLS, i), colour: colour(4), x: -1.5, y: 1 });
    scene.character = { x: -1.5, facing: i % 2 === 0 ? 'right' : 'left', action: i % 6 === 1 ? 'throw' : 'kick', objectId: 'held', releaseAtS: 0.5 };
  }
  const shotCount = 1 + (i % 3);
  const lengths = [[2], [1, 1], [0.5, 0.5, 1]][shotCount - 1] ?? [2];
  const targets = [objects[0]?.id, scene.hoop ? 'hoop' : undefined, scene.pendulum ? 'pendulum' : undefined, scene.boxStack ? 'stack' : undefined, scene.character ? 'character' : undefined, scene.ramp ? 'ramp' : undefined, undefined].filter(
    (t) => t !== undefined,
  );
  scene.shots = lengths.map((durationS, k) => ({
    durationS,
    framing: at(FRAMINGS, i + k),
    motion: at(CAMERA_MOTIONS, Math.floor(i / 2) + k),
    ...(k % 2 === 1 || i % 4 === 0 ? { target: at(targets, i + k) } : {}),
  }));
  return parseScene(scene);
}

const SCENES = Array.from({ length: 48 }, (_, i) => sceneNumber(i));
const SEEDS = Array.from({ length: 24 }, (_, i) => i * 7919 + 1);

function emptyFacts(overrides: Partial<PromptFacts> = {}): PromptFacts {
  return { objects: [], hoop: false, ramp: false, shots: [], ...overrides };
}

function expectValidationError(run: () => unknown, field: string): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    return;
  }
  throw new Error(`expected a ValidationError naming ${field}`);
}

describe('world prompts', () => {
  it('builds scenes that cover the whole vocabulary', () => {
    const facts = SCENES.map(factsOfScene);
    expect(new Set(facts.map((f) => f.setting))).toEqual(new Set(SETTINGS));
    expect(new Set(facts.map((f) => f.timeOfDay))).toEqual(new Set(TIMES_OF_DAY));
    expect(new Set(facts.flatMap((f) => f.objects.map((o) => o.material)))).toEqual(new Set(MATERIALS));
    expect(new Set(facts.flatMap((f) => f.objects.map((o) => o.colour)))).toEqual(new Set(COLOURS));
    expect(new Set(facts.flatMap((f) => f.objects.map((o) => o.count)))).toEqual(new Set([1, 2, 3]));
    expect(new Set(facts.map((f) => f.character?.action))).toEqual(new Set([undefined, 'throw', 'kick']));
    expect(new Set(facts.map((f) => f.shots.length))).toEqual(new Set([1, 2, 3]));
    expect(new Set(facts.flatMap((f) => f.shots.map((s) => `${s.framing} ${s.motion}`))).size).toBe(FRAMINGS.length * CAMERA_MOTIONS.length);
    expect(facts.some((f) => f.hoop) && facts.some((f) => f.ramp) && facts.some((f) => f.pendulum) && facts.some((f) => f.boxStack)).toBe(true);
  });

  it('states every fact of a scene so the parser reads back exactly those facts', () => {
    for (const scene of SCENES) {
      const facts = factsOfScene(scene);
      for (const seed of SEEDS) {
        const text = describeScene(scene, seed);
        const parsed = parsePrompt(text);
        expect({ text, ...parsed }).toEqual({ text, facts, unknownWords: [], unresolved: [] });
        expect(text.length).toBeLessThanOrEqual(MAX_PROMPT_CHARS);
      }
    }
  });

  it('round-trips the dataset sampler\'s scenes', () => {
    for (let seed = 0; seed < 300; seed++) {
      const scene = sampleScene(seed);
      const text = describeScene(scene, seed);
      expect({ text, ...parsePrompt(text) }).toEqual({ text, facts: factsOfScene(scene), unknownWords: [], unresolved: [] });
    }
  });

  it('groups free objects by material and colour in a canonical order', () => {
    const scene = parseScene({
      version: 1,
      seed: 1,
      durationS: 1,
      fps: 12,
      setting: 'park',
      lighting: { timeOfDay: 'noon', azimuthDeg: 0, colourTempK: 5500 },
      objects: [
        { id: 'c', material: 'tennis ball', colour: 'yellow', x: 1, y: 1 },
        { id: 'a', material: 'rubber ball', colour: 'red', x: 0, y: 1 },
        { id: 'b', material: 'tennis ball', colour: 'yellow', x: -1, y: 1 },
      ],
      shots: [{ durationS: 1, framing: 'wide', motion: 'static' }],
    });
    expect(factsOfScene(scene).objects).toEqual([
      { material: 'rubber ball', colour: 'red', count: 1 },
      { material: 'tennis ball', colour: 'yellow', count: 2 },
    ]);
    expect(JSON.parse(JSON.stringify(factsOfScene(scene)))).toEqual(factsOfScene(scene));
  });

  it('varies the wording with the seed and repeats it for the same seed', () => {
    for (const scene of [SCENES[0], SCENES[7], SCENES[22]]) {
      if (!scene) throw new Error('missing scene');
      const texts = Array.from({ length: 50 }, (_, seed) => describeScene(scene, seed));
      expect(new Set(texts).size).toBeGreaterThanOrEqual(10);
      texts.forEach((text, seed) => expect(describeScene(scene, seed)).toBe(text));
    }
  });

  it('uses the synonyms, counts and multi-shot forms across seeds', () => {
    const all = SCENES.flatMap((scene) => SEEDS.map((seed) => describeScene(scene, seed))).join('\n').toLowerCase();
    for (const phrase of [
      'gymnasium', 'indoor court', 'outdoor court', 'blacktop', 'grassy park', 'lawn in a park', 'home garage', 'workshop',
      'early', 'midday', 'golden hour', 'evening sun', 'late at night',
      'bouncy', 'heavy', 'crate', 'a pair of', 'two', 'three',
      'close-up', 'wide shot', 'pans', 'follow', 'tracking', 'static', 'then cut to', 'shot 2:',
      'pendulum', 'stack of', 'hoop', 'ramp', 'kicks', 'throws',
    ]) {
      expect(all, phrase).toContain(phrase);
    }
  });

  it('fills in default colours the prompt leaves out', () => {
    expect(DEFAULT_COLOURS).toEqual({ basketball: 'orange', 'tennis ball': 'yellow' });
    expect(parsePrompt('A basketball and three tennis balls bounce in a gym at noon.').facts).toEqual(
      emptyFacts({
        setting: 'gym',
        timeOfDay: 'noon',
        objects: [
          { material: 'basketball', colour: 'orange', count: 1 },
          { material: 'tennis ball', colour: 'yellow', count: 3 },
        ],
      }),
    );
  });

  it('parses counts, stage pieces, the figure and shots', () => {
    const parsed = parsePrompt(
      'Shot 1: a static wide shot. On the blacktop at golden hour, a pair of red rubber balls and 3 green crates sit on the ground; ' +
        'a tower of four pink wooden boxes stands nearby, and a heavy blue bowling ball swings on a pendulum. ' +
        'Someone tosses one of the red balls toward the basketball hoop. Shot 2: a panning close-up of the red ball. ' +
        'Shot 3: a wide tracking shot of the blue ball.',
    );
    expect(parsed).toEqual({
      facts: {
        setting: 'street court',
        timeOfDay: 'sunset',
        objects: [
          { material: 'rubber ball', colour: 'red', count: 2 },
          { material: 'wooden box', colour: 'green', count: 3 },
        ],
        hoop: true,
        ramp: false,
        pendulum: { material: 'bowling ball', colour: 'blue' },
        boxStack: { colour: 'pink', count: 4 },
        character: { action: 'throw' },
        shots: [
          { framing: 'wide', motion: 'static' },
          { framing: 'close', motion: 'pan' },
          { framing: 'wide', motion: 'follow' },
        ],
      },
      unknownWords: [],
      unresolved: [],
    });
    // "Then cut to" splits shots too, and the text before it is the first shot.
    expect(parsePrompt('A yellow tennis ball bounces in a garage. Static camera. Then cut to a close-up that follows the ball.').facts.shots).toEqual([
      { motion: 'static' },
      { framing: 'close', motion: 'follow' },
    ]);
  });

  it('reports unknown words and does not guess', () => {
    expect(parsePrompt('a purple giraffe bounces in the gym')).toEqual({
      facts: emptyFacts({ setting: 'gym' }),
      unknownWords: ['giraffe'],
      unresolved: ['"a purple giraffe": names no ball or box'],
    });
    // An unknown colour must not fall back to the default one.
    const black = parsePrompt('A black basketball rolls across a street court. A black basketball bounces.');
    expect(black.unknownWords).toEqual(['black']);
    expect(black.facts.objects).toEqual([]);
    // A ball without a material, a count-less plural, two settings, a court of either kind.
    const vague = parsePrompt('A red ball and some blue rubber balls in a park or a garage, with a smiling dog.');
    expect(vague.unknownWords).toEqual(['some', 'or', 'smiling', 'dog']);
    expect(vague.facts).toEqual(emptyFacts());
    expect(vague.unresolved).toEqual(expect.arrayContaining(['setting: names park and garage', '"a red ball": material not stated']));
    expect(parsePrompt('A basketball bounces on the court.').unresolved).toContain('"court": indoor or street court not stated');
    // A pendulum or stack without its parts, a figure that does neither.
    const parts = parsePrompt('A pendulum swings next to a stack while a kid waves.');
    expect(parts.facts).toEqual(emptyFacts());
    expect(parts.unknownWords).toEqual(['waves']);
    expect(parts.unresolved).toEqual(['character: neither throws nor kicks', 'pendulum: its ball is not described', 'stack: its boxes are not described']);
    // Two framings for one shot: neither is kept.
    expect(parsePrompt('A wide close-up of a red rubber ball.').facts.shots).toEqual([{}]);
  });

  it('says nothing about shots when the prompt is silent on the camera', () => {
    expect(parsePrompt('Two orange basketballs roll in a workshop late at night.').facts).toEqual(
      emptyFacts({ setting: 'garage', timeOfDay: 'night', objects: [{ material: 'basketball', colour: 'orange', count: 2 }] }),
    );
  });

  it('rejects empty, over-long and non-text prompts and bad seeds', () => {
    expectValidationError(() => parsePrompt(''), 'prompt');
    expectValidationError(() => parsePrompt('   \n'), 'prompt');
    expectValidationError(() => parsePrompt('a red rubber ball '.repeat(200)), 'prompt');
    expect(() => parsePrompt('a'.repeat(MAX_PROMPT_CHARS))).not.toThrow();
    expectValidationError(() => parsePrompt(42 as unknown as string), 'prompt');
    const scene = SCENES[0];
    if (!scene) throw new Error('missing scene');
    expectValidationError(() => describeScene(scene, -1), 'seed');
    expectValidationError(() => describeScene(scene, 1.5), 'seed');
  });
});
