import { z } from 'zod';
import { parseOrThrow } from '../../contracts/index.ts';

/**
 * A scene of the Zoetrope world: everything the simulator, renderer and audio need, deterministic
 * from this object alone. Units are metres and seconds; x points right, y up, the floor is y = 0 and
 * the stage is closed by walls at x = ±STAGE_HALF_WIDTH.
 */
export const SCENE_VERSION = 1;
export const STAGE_HALF_WIDTH = 3;
export const GRAVITY = 9.81;

export const SETTINGS = ['gym', 'street court', 'park', 'garage'] as const;
export type Setting = (typeof SETTINGS)[number];

export const TIMES_OF_DAY = ['morning', 'noon', 'sunset', 'night'] as const;
export type TimeOfDay = (typeof TIMES_OF_DAY)[number];

export const MATERIALS = ['rubber ball', 'basketball', 'bowling ball', 'tennis ball', 'wooden box'] as const;
export type Material = (typeof MATERIALS)[number];

/**
 * Object colours are vivid and stage colours muted (see palette.ts), so an object can be told from
 * its surroundings by colour alone, by the bench as by a person.
 */
export const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink'] as const;
export type Colour = (typeof COLOURS)[number];

export const SIDES = ['left', 'right'] as const;
export type Side = (typeof SIDES)[number];

const id = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a short lowercase id');
const finite = z.number().finite();

export const WorldObjectSchema = z.strictObject({
  id,
  material: z.enum(MATERIALS),
  colour: z.enum(COLOURS),
  /** Centre at t = 0. */
  x: finite.min(-STAGE_HALF_WIDTH).max(STAGE_HALF_WIDTH),
  y: finite.min(0).max(6),
  vx: finite.min(-20).max(20).default(0),
  vy: finite.min(-20).max(20).default(0),
  /** Angular velocity, rad/s (counter-clockwise). */
  spin: finite.min(-60).max(60).default(0),
});
export type WorldObject = z.output<typeof WorldObjectSchema>;

export const RampSchema = z.strictObject({ side: z.enum(SIDES), angleDeg: finite.min(10).max(40), length: finite.min(1).max(3) });
export const HoopSchema = z.strictObject({ side: z.enum(SIDES) });
export const PendulumSchema = z.strictObject({
  anchorX: finite.min(-2.5).max(2.5),
  length: finite.min(0.8).max(2.4),
  startAngleDeg: finite.min(-75).max(75),
  bob: z.strictObject({ id, material: z.enum(['rubber ball', 'basketball', 'bowling ball', 'tennis ball']), colour: z.enum(COLOURS) }),
});
export const BoxStackSchema = z.strictObject({
  x: finite.min(-2.6).max(2.6),
  colour: z.enum(COLOURS),
  count: z.int().min(2).max(5),
  /** Horizontal offset of each box from the one below, m: larger leans topple by themselves. */
  lean: finite.min(-0.2).max(0.2).default(0),
});

export const CharacterSchema = z.strictObject({
  x: finite.min(-2.6).max(2.6),
  facing: z.enum(SIDES),
  action: z.enum(['throw', 'kick']),
  /** The object the figure throws or kicks; it starts in the hand or at the foot. */
  objectId: id,
  /** When the ball leaves the hand or foot, s. */
  releaseAtS: finite.min(0.2).max(3),
  /** Appearance texture (a cameo's reference image) as an RGBA image, or the default face. */
  appearance: z.strictObject({ width: z.int().min(1).max(256), height: z.int().min(1).max(256), rgbaBase64: z.string() }).optional(),
});

export const FRAMINGS = ['wide', 'close'] as const;
export const CAMERA_MOTIONS = ['static', 'pan', 'follow'] as const;

export const ShotSchema = z.strictObject({
  durationS: finite.min(0.25).max(20),
  framing: z.enum(FRAMINGS),
  motion: z.enum(CAMERA_MOTIONS),
  /** What a close or follow shot looks at: an object id, or a stage piece. */
  target: z.union([id, z.enum(['hoop', 'stack', 'pendulum', 'ramp', 'character'])]).optional(),
});
export type Shot = z.output<typeof ShotSchema>;

export const LightingSchema = z.strictObject({
  timeOfDay: z.enum(TIMES_OF_DAY),
  /** Direction the light comes from, degrees from straight overhead (negative: from the left). */
  azimuthDeg: finite.min(-70).max(70),
  colourTempK: finite.min(2000).max(10000),
});
export type Lighting = z.output<typeof LightingSchema>;

export const SceneSchema = z
  .strictObject({
    version: z.literal(SCENE_VERSION),
    seed: z.int().min(0).max(0xffffffff),
    durationS: finite.min(0.5).max(20),
    fps: z.int().min(1).max(60),
    setting: z.enum(SETTINGS),
    lighting: LightingSchema,
    /** Scales gravity: 1 is Earth; negative flips it (used to make deliberately broken clips). */
    gravityScale: finite.min(-2).max(2).default(1),
    ramp: RampSchema.optional(),
    hoop: HoopSchema.optional(),
    pendulum: PendulumSchema.optional(),
    boxStack: BoxStackSchema.optional(),
    objects: z.array(WorldObjectSchema).max(4),
    character: CharacterSchema.optional(),
    shots: z.array(ShotSchema).min(1).max(4),
  })
  .superRefine((s, ctx) => {
    const ids = [...s.objects.map((o) => o.id), ...(s.pendulum ? [s.pendulum.bob.id] : [])];
    ids.forEach((v, i) => {
      if (ids.indexOf(v) !== i) ctx.addIssue({ code: 'custom', path: ['objects'], message: `lists id ${v} twice` });
    });
    const dynamic = s.objects.length + (s.pendulum ? 1 : 0) + (s.boxStack?.count ?? 0);
    if (dynamic < 1) ctx.addIssue({ code: 'custom', path: ['objects'], message: 'must have at least one moving thing' });
    if (dynamic > 9) ctx.addIssue({ code: 'custom', path: ['objects'], message: 'has more than 9 moving things' });
    const total = s.shots.reduce((t, shot) => t + shot.durationS, 0);
    if (Math.abs(total - s.durationS) > 1e-6) ctx.addIssue({ code: 'custom', path: ['shots'], message: `must add up to durationS (${s.durationS} s)` });
    if (s.character && !s.objects.some((o) => o.id === s.character?.objectId)) {
      ctx.addIssue({ code: 'custom', path: ['character', 'objectId'], message: 'must name one of the objects' });
    }
    s.shots.forEach((shot, i) => {
      const t = shot.target;
      if (t === undefined) return;
      const known =
        ids.includes(t) || (t === 'hoop' && s.hoop) || (t === 'stack' && s.boxStack) || (t === 'pendulum' && s.pendulum) || (t === 'ramp' && s.ramp) || (t === 'character' && s.character);
      if (!known) ctx.addIssue({ code: 'custom', path: ['shots', i, 'target'], message: `names ${t}, which is not in the scene` });
    });
  });

export type Scene = z.output<typeof SceneSchema>;
export type SceneInput = z.input<typeof SceneSchema>;

export function parseScene(value: unknown): Scene {
  return parseOrThrow(SceneSchema, value, 'scene');
}
