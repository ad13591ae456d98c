import type { Colour, Material, Scene } from './scene.ts';
import type { Surface } from './materials.ts';

/** What the simulator records: per-frame poses for the renderer, contacts and rolling for the audio. */

export interface BodyPose {
  readonly id: string;
  readonly material: Material;
  readonly colour: Colour;
  /** Centre, m. */
  readonly x: number;
  readonly y: number;
  /** Rotation, rad (counter-clockwise). */
  readonly angle: number;
  readonly vx: number;
  readonly vy: number;
}

/** The figure's joint angles, rad, for the renderer. 0 = limb hanging straight down. */
export interface CharacterPose {
  readonly x: number;
  readonly facing: 1 | -1;
  readonly throwingArm: number;
  readonly otherArm: number;
  readonly kickingLeg: number;
  readonly otherLeg: number;
}

export interface FramePose {
  readonly t: number;
  readonly bodies: readonly BodyPose[];
  readonly character?: CharacterPose;
}

/** One impact: the start of a contact between a body and something else, with its impulse. */
export interface ContactEvent {
  /** Time of the impact, s, at the simulator's sub-step resolution. */
  readonly t: number;
  readonly bodyId: string;
  readonly material: Material;
  /** What it hit. For body–body contacts, `otherId`/`otherMaterial` name the other body. */
  readonly surface: Surface;
  readonly otherId?: string;
  readonly otherMaterial?: Material;
  /** Normal impulse, N·s (≥ 0). */
  readonly impulse: number;
  /** Approach speed along the contact normal, m/s. */
  readonly normalSpeed: number;
  readonly x: number;
  readonly y: number;
}

/** A ball rolling or a box sliding on a surface: speed sampled at every simulator sub-step. */
export interface RollingTrack {
  readonly bodyId: string;
  readonly material: Material;
  readonly surface: Surface;
  /** Sub-step times, s, and the body's speed along the surface then, m/s (0 when not touching). */
  readonly t: Float64Array;
  readonly speed: Float64Array;
}

/** A ball passing through the net (a sensor, no impulse): a swish. */
export interface NetPass {
  readonly t: number;
  readonly bodyId: string;
  readonly speed: number;
}

export interface Trace {
  readonly scene: Scene;
  /** Simulator sub-step, s. */
  readonly dt: number;
  /** One pose per video frame: frame i at t = i / fps. */
  readonly frames: readonly FramePose[];
  readonly contacts: readonly ContactEvent[];
  readonly rolling: readonly RollingTrack[];
  readonly netPasses: readonly NetPass[];
}
