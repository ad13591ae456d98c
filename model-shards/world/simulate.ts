import RAPIER from '@dimforge/rapier2d-deterministic-compat';
import { FLOORS, MATERIAL_SPECS, type Surface } from './materials.ts';
import { GRAVITY, STAGE_HALF_WIDTH, type Colour, type Material, type Scene } from './scene.ts';
import type { BodyPose, CharacterPose, ContactEvent, FramePose, NetPass, RollingTrack, Trace } from './trace.ts';

/**
 * Runs a scene in Rapier's deterministic 2D build (same bits on every platform) at 240 Hz and
 * records what the renderer and the audio need. Impacts are found from each body's change of
 * velocity per sub-step (what a person hears as a knock), attributed to the surface it touches.
 */
export const SUBSTEP_HZ = 240;
/** A velocity change above this within one sub-step, beyond gravity's, is an impact (m/s). */
const IMPACT_DV = 0.25;

/** Stage geometry shared with the renderer. */
export const HOOP = Object.freeze({ rimY: 3.05, rimRadius: 0.25, rimThickness: 0.025, boardX: 2.8, boardHalfHeight: 0.5, boardCentreY: 3.4, boardHalfWidth: 0.03, rimGap: 0.12, netDepth: 0.42 });
export const PENDULUM_ANCHOR_Y = 4.5;
export const CHARACTER = Object.freeze({ shoulderY: 1.45, hipY: 0.9, armLength: 0.62, legLength: 0.9, headY: 1.72, headRadius: 0.17 });

let rapierReady: Promise<void> | undefined;
/** Rapier's WASM must be initialised once per process before a world is built. */
export function initPhysics(): Promise<void> {
  rapierReady ??= RAPIER.init();
  return rapierReady;
}

interface Tag {
  readonly surface: Surface;
  readonly bodyId?: string;
  readonly material?: Material;
}

interface Dynamic {
  readonly id: string;
  readonly material: Material;
  readonly colour: Colour;
  readonly body: RAPIER.RigidBody;
  readonly collider: RAPIER.Collider;
  readonly mass: number;
  readonly jointed: boolean;
  released: boolean;
  lastImpactStep: number;
  readonly rollT: number[];
  readonly rollSpeed: number[];
  rollSurface: Surface | undefined;
}

export function rampVertices(ramp: NonNullable<Scene['ramp']>): [number, number][] {
  const rad = (ramp.angleDeg * Math.PI) / 180;
  const base = ramp.length * Math.cos(rad);
  const height = ramp.length * Math.sin(rad);
  const wall = ramp.side === 'right' ? STAGE_HALF_WIDTH : -STAGE_HALF_WIDTH;
  const toe = ramp.side === 'right' ? wall - base : wall + base;
  return [[wall, 0], [toe, 0], [wall, height]];
}

export function hoopGeometry(side: 'left' | 'right') {
  const s = side === 'right' ? 1 : -1;
  const board = s * HOOP.boardX;
  const backRim = board - s * HOOP.rimGap;
  const frontRim = backRim - s * 2 * HOOP.rimRadius;
  return { s, board, backRim, frontRim, centre: (backRim + frontRim) / 2 };
}

/** Arm and leg angles of the figure at time t (0 = hanging down, positive = forward). */
export function characterPose(c: NonNullable<Scene['character']>, t: number): CharacterPose {
  const facing = c.facing === 'right' ? 1 : -1;
  const d = t - c.releaseAtS;
  const lerp = (a: number, b: number, u: number) => a + (b - a) * Math.min(1, Math.max(0, u));
  const deg = Math.PI / 180;
  let throwingArm = 0.1;
  let kickingLeg = 0;
  if (c.action === 'throw') {
    if (d < -0.45) throwingArm = 0.1;
    else if (d < -0.2) throwingArm = lerp(0.1, -50 * deg, (d + 0.45) / 0.25);
    else if (d < 0) throwingArm = lerp(-50 * deg, 135 * deg, (d + 0.2) / 0.2);
    else if (d < 0.15) throwingArm = lerp(135 * deg, 160 * deg, d / 0.15);
    else throwingArm = lerp(160 * deg, 0.1, (d - 0.15) / 0.6);
  } else {
    if (d < -0.4) kickingLeg = 0;
    else if (d < -0.15) kickingLeg = lerp(0, -40 * deg, (d + 0.4) / 0.25);
    else if (d < 0) kickingLeg = lerp(-40 * deg, 55 * deg, (d + 0.15) / 0.15);
    else if (d < 0.2) kickingLeg = lerp(55 * deg, 65 * deg, d / 0.2);
    else kickingLeg = lerp(65 * deg, 0, (d - 0.2) / 0.4);
  }
  return { x: c.x, facing, throwingArm, otherArm: -0.15, kickingLeg, otherLeg: c.action === 'kick' ? -0.08 : 0 };
}

/** Where the held (or foot-side) object sits for a pose. */
function heldPosition(c: NonNullable<Scene['character']>, pose: CharacterPose, radius: number): [number, number] {
  if (c.action === 'kick') return [c.x + pose.facing * 0.38, radius];
  const hx = c.x + pose.facing * CHARACTER.armLength * Math.sin(pose.throwingArm);
  const hy = CHARACTER.shoulderY - CHARACTER.armLength * Math.cos(pose.throwingArm);
  return [hx + pose.facing * radius * 0.6, hy + radius * 0.4];
}

/** Launch velocity of a throw: a shot at the rim when facing the hoop, a lob otherwise. */
function releaseVelocity(scene: Scene, from: [number, number], gravity: number): [number, number] {
  const c = scene.character!;
  const facing = c.facing === 'right' ? 1 : -1;
  if (c.action === 'kick') return [facing * 6, 2.2];
  if (scene.hoop && (scene.hoop.side === 'right') === (facing === 1) && gravity > 0) {
    const target = hoopGeometry(scene.hoop.side).centre;
    const dx = Math.abs(target - from[0]);
    const dy = HOOP.rimY + 0.05 - from[1];
    const theta = (58 * Math.PI) / 180;
    const denom = 2 * Math.cos(theta) ** 2 * (dx * Math.tan(theta) - dy);
    if (denom > 0) {
      const v = Math.sqrt((gravity * dx * dx) / denom);
      return [facing * v * Math.cos(theta), v * Math.sin(theta)];
    }
  }
  return [facing * 2.6, 5.2];
}

export async function simulate(scene: Scene): Promise<Trace> {
  await initPhysics();
  const g = GRAVITY * scene.gravityScale;
  const world = new RAPIER.World({ x: 0, y: -g });
  const dt = 1 / SUBSTEP_HZ;
  world.timestep = dt;
  const tags = new Map<number, Tag>();
  const floor = FLOORS[scene.setting];

  const fixed = world.createRigidBody(RAPIER.RigidBodyDesc.fixed());
  const addFixed = (desc: RAPIER.ColliderDesc, tag: Tag) => tags.set(world.createCollider(desc, fixed).handle, tag);
  addFixed(RAPIER.ColliderDesc.cuboid(STAGE_HALF_WIDTH + 1, 0.5).setTranslation(0, -0.5).setRestitution(floor.restitution).setFriction(floor.friction).setRestitutionCombineRule(RAPIER.CoefficientCombineRule.Multiply), { surface: 'floor' });
  for (const s of [-1, 1]) addFixed(RAPIER.ColliderDesc.cuboid(0.5, 10).setTranslation(s * (STAGE_HALF_WIDTH + 0.5), 9.5).setRestitution(0.9).setRestitutionCombineRule(RAPIER.CoefficientCombineRule.Multiply), { surface: 'wall' });
  if (scene.ramp) {
    const hull = RAPIER.ColliderDesc.convexHull(Float32Array.from(rampVertices(scene.ramp).flat()));
    if (hull) addFixed(hull.setFriction(0.9).setRestitution(0.5).setRestitutionCombineRule(RAPIER.CoefficientCombineRule.Multiply), { surface: 'ramp' });
  }
  let netSensor: RAPIER.Collider | undefined;
  if (scene.hoop) {
    const h = hoopGeometry(scene.hoop.side);
    addFixed(RAPIER.ColliderDesc.cuboid(HOOP.boardHalfWidth, HOOP.boardHalfHeight).setTranslation(h.board, HOOP.boardCentreY).setRestitution(0.7), { surface: 'backboard' });
    for (const x of [h.backRim, h.frontRim]) addFixed(RAPIER.ColliderDesc.ball(HOOP.rimThickness).setTranslation(x, HOOP.rimY).setRestitution(0.6), { surface: 'rim' });
    netSensor = world.createCollider(
      RAPIER.ColliderDesc.cuboid(HOOP.rimRadius - HOOP.rimThickness, 0.05).setTranslation(h.centre, HOOP.rimY - HOOP.netDepth / 2).setSensor(true),
      fixed,
    );
  }

  const dynamics: Dynamic[] = [];
  const addDynamic = (id: string, material: Material, colour: Colour, x: number, y: number, vx: number, vy: number, spin: number, angle = 0): Dynamic => {
    const spec = MATERIAL_SPECS[material];
    const body = world.createRigidBody(
      RAPIER.RigidBodyDesc.dynamic().setTranslation(x, y).setRotation(angle).setLinvel(vx, vy).setAngvel(spin).setAngularDamping(spec.angularDamping).setCcdEnabled(true),
    );
    const shape = spec.shape === 'ball' ? RAPIER.ColliderDesc.ball(spec.size) : RAPIER.ColliderDesc.cuboid(spec.size, spec.size);
    const collider = world.createCollider(shape.setMass(spec.massKg).setRestitution(spec.restitution).setFriction(spec.friction), body);
    tags.set(collider.handle, { surface: spec.shape === 'ball' ? 'ball' : 'box', bodyId: id, material });
    const d: Dynamic = { id, material, colour, body, collider, mass: spec.massKg, jointed: false, released: true, lastImpactStep: -100, rollT: [], rollSpeed: [], rollSurface: undefined };
    dynamics.push(d);
    return d;
  };

  for (const o of scene.objects) addDynamic(o.id, o.material, o.colour, o.x, o.y, o.vx, o.vy, o.spin);
  if (scene.boxStack) {
    const size = MATERIAL_SPECS['wooden box'].size;
    for (let i = 0; i < scene.boxStack.count; i++) {
      addDynamic(`box-${i + 1}`, 'wooden box', scene.boxStack.colour, scene.boxStack.x + i * scene.boxStack.lean, size + i * 2 * size + 0.001 * i, 0, 0, 0);
    }
  }
  let pendulumBob: Dynamic | undefined;
  if (scene.pendulum) {
    const p = scene.pendulum;
    const a = (p.startAngleDeg * Math.PI) / 180;
    const bx = p.anchorX + p.length * Math.sin(a);
    const by = PENDULUM_ANCHOR_Y - p.length * Math.cos(a);
    pendulumBob = addDynamic(p.bob.id, p.bob.material, p.bob.colour, bx, by, 0, 0, 0);
    pendulumBob.body.setLinearDamping(0.08);
    const anchor = world.createRigidBody(RAPIER.RigidBodyDesc.fixed().setTranslation(p.anchorX, PENDULUM_ANCHOR_Y));
    world.createImpulseJoint(RAPIER.JointData.revolute({ x: 0, y: 0 }, { x: p.anchorX - bx, y: PENDULUM_ANCHOR_Y - by }), anchor, pendulumBob.body, true);
    (pendulumBob as { jointed: boolean }).jointed = true;
  }

  // The figure holds its object as a kinematic body until release.
  const character = scene.character;
  const held = character ? dynamics.find((d) => d.id === character.objectId) : undefined;
  if (character && held) {
    held.released = false;
    held.body.setBodyType(RAPIER.RigidBodyType.KinematicPositionBased, true);
    const [x, y] = heldPosition(character, characterPose(character, 0), MATERIAL_SPECS[held.material].size);
    held.body.setTranslation({ x, y }, true);
  }

  const frameCount = Math.round(scene.durationS * scene.fps);
  const totalSteps = Math.round(scene.durationS * SUBSTEP_HZ);
  const frames: FramePose[] = [];
  const contacts: ContactEvent[] = [];
  const netPasses: NetPass[] = [];
  const inNet = new Set<string>();

  const pose = (t: number): FramePose => {
    const bodies: BodyPose[] = dynamics.map((d) => {
      const p = d.body.translation();
      const v = d.body.linvel();
      return { id: d.id, material: d.material, colour: d.colour, x: p.x, y: p.y, angle: d.body.rotation(), vx: v.x, vy: v.y };
    });
    return character ? { t, bodies, character: characterPose(character, t) } : { t, bodies };
  };

  /** The fixed surface or body a dynamic body touches hardest right now. */
  const touching = (d: Dynamic): { tag: Tag; normal: { x: number; y: number } } | undefined => {
    let best: { tag: Tag; normal: { x: number; y: number }; impulse: number } | undefined;
    world.contactPairsWith(d.collider, (other) => {
      const tag = tags.get(other.handle);
      if (!tag) return;
      world.contactPair(d.collider, other, (manifold, flipped) => {
        if (manifold.numContacts() === 0) return;
        let impulse = 0;
        for (let i = 0; i < manifold.numContacts(); i++) impulse += manifold.contactImpulse(i);
        const n = manifold.normal();
        const normal = flipped ? { x: -n.x, y: -n.y } : { x: n.x, y: n.y };
        if (!best || impulse > best.impulse) best = { tag, normal, impulse };
      });
    });
    return best;
  };

  const nextFrameStep = (i: number) => Math.round((i * SUBSTEP_HZ) / scene.fps);
  let frame = 0;
  for (let step = 0; step <= totalSteps && frame < frameCount; step++) {
    const t = step * dt;
    while (frame < frameCount && nextFrameStep(frame) === step) {
      frames.push(pose(frame / scene.fps));
      frame++;
    }
    if (frame >= frameCount && step === totalSteps) break;

    if (character && held && !held.released) {
      const next = t + dt;
      if (next >= character.releaseAtS) {
        const from = heldPosition(character, characterPose(character, character.releaseAtS), MATERIAL_SPECS[held.material].size);
        const [vx, vy] = releaseVelocity(scene, from, g);
        held.body.setBodyType(RAPIER.RigidBodyType.Dynamic, true);
        held.body.setTranslation({ x: from[0], y: from[1] }, true);
        held.body.setLinvel({ x: vx, y: vy }, true);
        held.body.setAngvel(character.action === 'kick' ? -Math.sign(vx) * 20 : -Math.sign(vx) * 8, true);
        held.released = true;
        if (character.action === 'kick') {
          contacts.push({ t: character.releaseAtS, bodyId: held.id, material: held.material, surface: 'character', impulse: held.mass * Math.hypot(vx, vy), normalSpeed: Math.hypot(vx, vy), x: from[0], y: from[1] });
        }
      } else {
        const [x, y] = heldPosition(character, characterPose(character, next), MATERIAL_SPECS[held.material].size);
        held.body.setNextKinematicTranslation({ x, y });
      }
    }

    const before = dynamics.map((d) => d.body.linvel());
    world.step();
    const after = t + dt;

    dynamics.forEach((d, i) => {
      if (!d.released) return;
      const v0 = before[i]!;
      const v1 = d.body.linvel();
      const dvx = v1.x - v0.x;
      const dvy = v1.y - v0.y + g * dt;
      const dv = Math.hypot(dvx, dvy);
      const contact = touching(d);
      // A knock between two bodies is one sound: keep it once, from the first body that reports it.
      const heardFromOther = contact?.tag.bodyId !== undefined && contacts.some((c) => c.bodyId === contact.tag.bodyId && c.otherId === d.id && after - c.t < 3 * dt);
      if (dv > IMPACT_DV && step - d.lastImpactStep > 3 && contact && !d.jointed && !heardFromOther) {
        const n = contact.normal;
        const normalSpeed = Math.abs(v0.x * n.x + v0.y * n.y);
        const p = d.body.translation();
        contacts.push({
          t: after,
          bodyId: d.id,
          material: d.material,
          surface: contact.tag.surface,
          ...(contact.tag.bodyId !== undefined ? { otherId: contact.tag.bodyId } : {}),
          ...(contact.tag.material !== undefined ? { otherMaterial: contact.tag.material } : {}),
          impulse: d.mass * dv,
          normalSpeed,
          x: p.x,
          y: p.y,
        });
      }
      if (dv > IMPACT_DV && contact) d.lastImpactStep = step;
      // A pendulum bob also knocks when it hits something: its joint alone never changes v this fast.
      if (d.jointed && dv > 3 * IMPACT_DV && contact && step - d.lastImpactStep > 3) {
        const p = d.body.translation();
        contacts.push({ t: after, bodyId: d.id, material: d.material, surface: contact.tag.surface, impulse: d.mass * dv, normalSpeed: dv, x: p.x, y: p.y });
      }
      const rolling = contact && (contact.tag.surface === 'floor' || contact.tag.surface === 'ramp' || contact.tag.surface === 'box') ? Math.hypot(v1.x, v1.y) : 0;
      if (rolling > 0 && contact) d.rollSurface ??= contact.tag.surface;
      d.rollT.push(after);
      d.rollSpeed.push(rolling);
      if (netSensor && world.intersectionPair(netSensor, d.collider)) {
        if (!inNet.has(d.id)) netPasses.push({ t: after, bodyId: d.id, speed: Math.hypot(v1.x, v1.y) });
        inNet.add(d.id);
      } else inNet.delete(d.id);
    });
  }
  while (frames.length < frameCount) frames.push(pose(frames.length / scene.fps));

  const rolling: RollingTrack[] = dynamics
    .filter((d) => d.rollSurface !== undefined)
    .map((d) => ({ bodyId: d.id, material: d.material, surface: d.rollSurface!, t: Float64Array.from(d.rollT), speed: Float64Array.from(d.rollSpeed) }));
  world.free();
  return { scene, dt, frames, contacts, rolling, netPasses };
}
