import { createCanvas, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import { cameraPath, type CameraView } from './camera.ts';
import { MATERIAL_SPECS } from './materials.ts';
import { lightFill, OBJECT_RGB, SETTING_PALETTES, shadowStrength, SKY_RGB, type Rgb } from './palette.ts';
import { CHARACTER, HOOP, hoopGeometry, PENDULUM_ANCHOR_Y, rampVertices } from './simulate.ts';
import { STAGE_HALF_WIDTH, type Scene } from './scene.ts';
import type { BodyPose, CharacterPose, FramePose, Trace } from './trace.ts';

/**
 * Draws the world with Skia (@napi-rs/canvas): a textured stage pre-rendered once per clip, then per
 * frame the moving things with shading, soft shadows from the light's direction, the figure with
 * its appearance texture, and the lighting (time of day, colour temperature) over everything.
 */
export const MAX_FRAME_SIZE = 512;

/** World rectangle of the pre-rendered stage. */
const STAGE = { x0: -STAGE_HALF_WIDTH - 1, x1: STAGE_HALF_WIDTH + 1, y0: -1, y1: 7.5 } as const;

const css = ([r, g, b]: Rgb, a = 1) => `rgba(${Math.round(r)},${Math.round(g)},${Math.round(b)},${a})`;
const mix = (a: Rgb, b: Rgb, u: number): Rgb => [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
const scale = (a: Rgb, k: number): Rgb => [a[0] * k, a[1] * k, a[2] * k];

/** A tiny deterministic hash → [0, 1), for textures (not for physics). */
function hash01(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

function drawStage(g: SKRSContext2D, scene: Scene, ppm: number): void {
  const p = SETTING_PALETTES[scene.setting];
  const X = (x: number) => (x - STAGE.x0) * ppm;
  const Y = (y: number) => (STAGE.y1 - y) * ppm;
  const W = (STAGE.x1 - STAGE.x0) * ppm;
  const sky = SKY_RGB[scene.lighting.timeOfDay];
  const back = p.outdoor ? sky : p.wall;
  const grad = g.createLinearGradient(0, 0, 0, Y(0));
  grad.addColorStop(0, css(back));
  grad.addColorStop(1, css(p.outdoor ? mix(sky, p.wall, 0.5) : p.wallLow));
  g.fillStyle = grad;
  g.fillRect(0, 0, W, Y(0));
  const seed = scene.seed;

  switch (scene.setting) {
    case 'gym': {
      g.strokeStyle = css(p.detail, 0.5);
      g.lineWidth = Math.max(1, ppm * 0.03);
      for (let x = STAGE.x0; x < STAGE.x1; x += 0.9) g.strokeRect(X(x), Y(5.6), 0.8 * ppm, 1.6 * ppm);
      g.fillStyle = css(p.wallLow);
      g.fillRect(0, Y(1.1), W, 1.1 * ppm);
      g.strokeStyle = css(p.detail, 0.6);
      for (let y = 0.3; y < 1.1; y += 0.35) {
        g.beginPath();
        g.moveTo(0, Y(y));
        g.lineTo(W, Y(y));
        g.stroke();
      }
      break;
    }
    case 'street court': {
      g.fillStyle = css(p.wallLow);
      for (let x = STAGE.x0, i = 0; x < STAGE.x1; i++) {
        const w = 0.8 + hash01(seed, i) * 1.2;
        const h = 2.5 + hash01(seed, i + 50) * 3;
        g.fillRect(X(x), Y(h), w * ppm, h * ppm);
        x += w + 0.1;
      }
      g.strokeStyle = css(p.wall, 0.8);
      g.lineWidth = Math.max(1, ppm * 0.015);
      for (let x = STAGE.x0; x < STAGE.x1; x += 0.25) {
        g.beginPath();
        g.moveTo(X(x), Y(0));
        g.lineTo(X(x + 1.8), Y(1.8));
        g.moveTo(X(x + 1.8), Y(0));
        g.lineTo(X(x), Y(1.8));
        g.stroke();
      }
      break;
    }
    case 'park': {
      for (let i = 0; i < 9; i++) {
        const x = STAGE.x0 + (i + hash01(seed, i)) * 0.9;
        const r = 0.5 + hash01(seed, i + 20) * 0.5;
        g.fillStyle = css(p.detail);
        g.fillRect(X(x - 0.05), Y(1.4), 0.1 * ppm, 1.4 * ppm);
        g.fillStyle = css(p.wallLow);
        g.beginPath();
        g.arc(X(x), Y(1.4 + r), r * ppm, 0, Math.PI * 2);
        g.fill();
      }
      break;
    }
    case 'garage': {
      g.fillStyle = css(p.wallLow);
      g.fillRect(X(-1.6), Y(2.6), 3.2 * ppm, 2.6 * ppm);
      g.strokeStyle = css(p.wall, 0.7);
      g.lineWidth = Math.max(1, ppm * 0.02);
      for (let y = 0.3; y < 2.6; y += 0.32) {
        g.beginPath();
        g.moveTo(X(-1.6), Y(y));
        g.lineTo(X(1.6), Y(y));
        g.stroke();
      }
      g.fillStyle = css(p.detail);
      for (const y of [1.6, 2.4]) g.fillRect(X(STAGE.x0), Y(y), 1.5 * ppm, 0.06 * ppm);
      break;
    }
  }

  // Floor with texture, from y = 0 down.
  g.fillStyle = css(p.floor);
  g.fillRect(0, Y(0), W, (0 - STAGE.y0) * ppm);
  g.strokeStyle = css(p.floorLine, 0.7);
  g.lineWidth = Math.max(1, ppm * 0.02);
  if (scene.setting === 'gym') {
    for (let y = -0.1; y > STAGE.y0; y -= 0.16) {
      g.beginPath();
      g.moveTo(0, Y(y));
      g.lineTo(W, Y(y));
      g.stroke();
    }
  } else {
    for (let i = 0; i < 120; i++) {
      const x = STAGE.x0 + hash01(seed, i + 100) * (STAGE.x1 - STAGE.x0);
      const y = STAGE.y0 + hash01(seed, i + 300) * (0 - STAGE.y0);
      g.fillStyle = css(p.floorLine, 0.35);
      g.fillRect(X(x), Y(y), 0.06 * ppm, 0.03 * ppm);
    }
  }
  g.fillStyle = css(scale(p.floor, 0.8));
  g.fillRect(0, Y(0), W, Math.max(1, 0.03 * ppm));
  // Side walls of the stage.
  g.fillStyle = css(scale(p.outdoor ? p.wallLow : p.wall, 0.85));
  g.fillRect(0, 0, X(-STAGE_HALF_WIDTH), Y(STAGE.y0));
  g.fillRect(X(STAGE_HALF_WIDTH), 0, W - X(STAGE_HALF_WIDTH), Y(STAGE.y0));

  if (scene.ramp) {
    const v = rampVertices(scene.ramp);
    g.fillStyle = css([150, 136, 120]);
    g.strokeStyle = css([112, 102, 92]);
    g.lineWidth = Math.max(1, ppm * 0.03);
    g.beginPath();
    v.forEach(([x, y], i) => (i === 0 ? g.moveTo(X(x), Y(y)) : g.lineTo(X(x), Y(y))));
    g.closePath();
    g.fill();
    g.stroke();
  }
  if (scene.hoop) {
    const h = hoopGeometry(scene.hoop.side);
    g.fillStyle = css([96, 100, 106]);
    g.fillRect(X(h.board + h.s * 0.12) - 0.04 * ppm, Y(HOOP.boardCentreY), 0.08 * ppm, HOOP.boardCentreY * ppm);
    g.fillStyle = css([232, 234, 236]);
    g.fillRect(X(h.board - HOOP.boardHalfWidth), Y(HOOP.boardCentreY + HOOP.boardHalfHeight), 2 * HOOP.boardHalfWidth * ppm, 2 * HOOP.boardHalfHeight * ppm);
  }
  if (scene.pendulum) {
    g.fillStyle = css([92, 90, 88]);
    g.fillRect(X(scene.pendulum.anchorX - 0.3), Y(PENDULUM_ANCHOR_Y + 0.08), 0.6 * ppm, 0.08 * ppm);
  }
}

function decodeAppearance(appearance: NonNullable<Scene['character']>['appearance']): Canvas | undefined {
  if (!appearance) return undefined;
  const bytes = Buffer.from(appearance.rgbaBase64, 'base64');
  if (bytes.length !== appearance.width * appearance.height * 4) {
    throw new RangeError(`character.appearance must hold width × height × 4 RGBA bytes (${appearance.width * appearance.height * 4}), not ${bytes.length}`);
  }
  const canvas = createCanvas(appearance.width, appearance.height);
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(appearance.width, appearance.height);
  // Muted like the rest of the figure, so a face never reads as a vivid object.
  for (let i = 0; i < bytes.length; i += 4) {
    const r = bytes[i] ?? 0;
    const gg = bytes[i + 1] ?? 0;
    const b = bytes[i + 2] ?? 0;
    const y = 0.299 * r + 0.587 * gg + 0.114 * b;
    image.data[i] = y + (r - y) * 0.35;
    image.data[i + 1] = y + (gg - y) * 0.35;
    image.data[i + 2] = y + (b - y) * 0.35;
    image.data[i + 3] = bytes[i + 3] ?? 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

export interface ClipRenderer {
  readonly size: number;
  readonly views: readonly CameraView[];
  /** RGB bytes (size × size × 3) of frame i. */
  frame(i: number): Uint8Array;
}

export interface RenderOptions {
  /**
   * Leave the balls (and their shadows) out: the stage, stack, figure and lighting alone. Training
   * data for a decoder that paints balls from object slots over a background.
   */
  readonly omitBalls?: boolean;
  /**
   * Leave the boxes (and their shadows) out too: the layer a decoder paints when the boxes are drawn
   * from slots of their own.
   */
  readonly omitBoxes?: boolean;
}

export function createRenderer(trace: Trace, size: number, options: RenderOptions = {}): ClipRenderer {
  if (!Number.isInteger(size) || size < 16 || size > MAX_FRAME_SIZE) throw new RangeError(`frame size must be an integer 16–${MAX_FRAME_SIZE} (got ${size})`);
  const { scene, frames } = trace;
  const views = cameraPath(scene, frames);
  const stagePpm = size / 3.0;
  const stage = createCanvas(Math.ceil((STAGE.x1 - STAGE.x0) * stagePpm), Math.ceil((STAGE.y1 - STAGE.y0) * stagePpm));
  drawStage(stage.getContext('2d'), scene, stagePpm);
  const face = decodeAppearance(scene.character?.appearance);

  const canvas = createCanvas(size, size);
  const g = canvas.getContext('2d');
  const light = scene.lighting;
  const az = (light.azimuthDeg * Math.PI) / 180;
  const shadowAlpha = shadowStrength(light.timeOfDay);
  const lightTint = css(lightFill(light, scene.setting));

  function drawBody(b: BodyPose, X: (x: number) => number, Y: (y: number) => number, ppm: number) {
    const spec = MATERIAL_SPECS[b.material];
    const base = OBJECT_RGB[b.colour];
    const r = spec.size * ppm;
    const cx = X(b.x);
    const cy = Y(b.y);
    g.save();
    g.translate(cx, cy);
    if (spec.shape === 'ball') {
      const hx = -Math.sin(az) * r * 0.4;
      const hy = -Math.cos(az) * r * 0.4;
      const grad = g.createRadialGradient(hx, hy, r * 0.1, 0, 0, r);
      grad.addColorStop(0, css(mix(base, [255, 255, 255], 0.18)));
      grad.addColorStop(0.6, css(base));
      grad.addColorStop(1, css(scale(base, 0.72)));
      g.fillStyle = grad;
      g.beginPath();
      g.arc(0, 0, r, 0, Math.PI * 2);
      g.fill();
      g.rotate(-b.angle);
      g.strokeStyle = css(scale(base, 0.35));
      g.lineWidth = Math.max(0.6, r * 0.09);
      if (spec.pattern === 'seams') {
        g.beginPath();
        g.moveTo(-r, 0);
        g.lineTo(r, 0);
        g.moveTo(0, -r);
        g.lineTo(0, r);
        g.stroke();
        g.beginPath();
        g.arc(-r * 1.2, 0, r * 0.85, -0.8, 0.8);
        g.stroke();
      } else if (spec.pattern === 'holes') {
        g.fillStyle = css(scale(base, 0.3));
        for (const [dx, dy] of [[-0.25, -0.35], [0.1, -0.42], [-0.05, -0.12]] as const) {
          g.beginPath();
          g.arc(dx * r, dy * r, r * 0.1, 0, Math.PI * 2);
          g.fill();
        }
      } else if (spec.pattern === 'felt') {
        g.strokeStyle = css(mix(base, [255, 255, 255], 0.5));
        g.beginPath();
        g.arc(-r, 0, r * 0.8, -0.9, 0.9);
        g.arc(r, 0, r * 0.8, Math.PI - 0.9, Math.PI + 0.9);
        g.stroke();
      }
    } else {
      g.rotate(-b.angle);
      g.fillStyle = css(base);
      g.fillRect(-r, -r, 2 * r, 2 * r);
      g.strokeStyle = css(scale(base, 0.7));
      g.lineWidth = Math.max(0.6, r * 0.08);
      for (const f of [-0.45, 0.1, 0.55]) {
        g.beginPath();
        g.moveTo(-r, f * r);
        g.lineTo(r, f * r);
        g.stroke();
      }
      // Edges darker but still vivid, so a stack stays one coloured block.
      g.strokeStyle = css(scale(base, 0.78));
      g.lineWidth = Math.max(0.8, r * 0.12);
      g.strokeRect(-r, -r, 2 * r, 2 * r);
    }
    g.restore();
  }

  function drawCharacter(c: CharacterPose, X: (x: number) => number, Y: (y: number) => number, ppm: number) {
    const limb = (x0: number, y0: number, angle: number, length: number, colour: Rgb, width: number) => {
      g.strokeStyle = css(colour);
      g.lineWidth = width * ppm;
      g.lineCap = 'round';
      g.beginPath();
      g.moveTo(X(x0), Y(y0));
      g.lineTo(X(x0 + c.facing * length * Math.sin(angle)), Y(y0 - length * Math.cos(angle)));
      g.stroke();
    };
    const skin: Rgb = [196, 170, 150];
    const shirt: Rgb = [98, 110, 128];
    const trousers: Rgb = [66, 70, 82];
    limb(c.x, CHARACTER.hipY, c.otherLeg, CHARACTER.legLength, trousers, 0.13);
    limb(c.x, CHARACTER.shoulderY, c.otherArm, CHARACTER.armLength, shirt, 0.1);
    g.strokeStyle = css(shirt);
    g.lineWidth = 0.3 * ppm;
    g.beginPath();
    g.moveTo(X(c.x), Y(CHARACTER.hipY));
    g.lineTo(X(c.x), Y(CHARACTER.shoulderY + 0.05));
    g.stroke();
    limb(c.x, CHARACTER.hipY, c.kickingLeg, CHARACTER.legLength, trousers, 0.13);
    limb(c.x, CHARACTER.shoulderY, c.throwingArm, CHARACTER.armLength, shirt, 0.1);
    const hr = CHARACTER.headRadius * ppm;
    g.save();
    g.beginPath();
    g.arc(X(c.x), Y(CHARACTER.headY), hr, 0, Math.PI * 2);
    g.clip();
    if (face) {
      g.drawImage(face, X(c.x) - hr, Y(CHARACTER.headY) - hr, 2 * hr, 2 * hr);
    } else {
      g.fillStyle = css(skin);
      g.fillRect(X(c.x) - hr, Y(CHARACTER.headY) - hr, 2 * hr, 2 * hr);
      g.fillStyle = css([60, 52, 48]);
      g.fillRect(X(c.x) - hr, Y(CHARACTER.headY) - hr, 2 * hr, hr * 0.6);
      g.beginPath();
      g.arc(X(c.x + c.facing * 0.06), Y(CHARACTER.headY + 0.02), Math.max(0.5, hr * 0.12), 0, Math.PI * 2);
      g.fill();
    }
    g.restore();
  }

  function frame(i: number): Uint8Array {
    const pose: FramePose | undefined = frames[i];
    const view = views[i];
    if (!pose || !view) throw new RangeError(`frame index must be 0–${frames.length - 1} (got ${i})`);
    const ppm = size / view.width;
    const left = view.cx - view.width / 2;
    const top = view.cy + view.width / 2;
    const X = (x: number) => (x - left) * ppm;
    const Y = (y: number) => (top - y) * ppm;
    g.globalCompositeOperation = 'source-over';
    g.filter = 'none';
    g.drawImage(stage, (left - STAGE.x0) * stagePpm, (STAGE.y1 - top) * stagePpm, view.width * stagePpm, view.width * stagePpm, 0, 0, size, size);

    const omitted = (b: BodyPose) => {
      const shape = MATERIAL_SPECS[b.material].shape;
      return shape === 'ball' ? options.omitBalls === true : options.omitBoxes === true;
    };
    const bodies = pose.bodies.filter((b) => !omitted(b));
    // Soft shadows on the floor, cast away from the light, fainter and wider with height.
    for (const b of bodies) {
      const spec = MATERIAL_SPECS[b.material];
      const bottom = Math.max(0, b.y - spec.size);
      const sx = b.x + Math.tan(az) * b.y * 0.5;
      const spread = 1 + bottom * 0.35;
      g.filter = `blur(${Math.max(0.5, ppm * 0.04 * spread)}px)`;
      g.fillStyle = `rgba(0,0,0,${shadowAlpha * Math.exp(-bottom / 2.5)})`;
      g.beginPath();
      g.ellipse(X(sx), Y(0.01), spec.size * ppm * spread, spec.size * ppm * 0.25, 0, 0, Math.PI * 2);
      g.fill();
    }
    g.filter = 'none';

    if (scene.pendulum) {
      const bob = pose.bodies.find((b) => b.id === scene.pendulum?.bob.id);
      if (bob) {
        g.strokeStyle = css([70, 70, 70]);
        g.lineWidth = Math.max(1, 0.025 * ppm);
        g.beginPath();
        g.moveTo(X(scene.pendulum.anchorX), Y(PENDULUM_ANCHOR_Y));
        g.lineTo(X(bob.x), Y(bob.y));
        g.stroke();
      }
    }
    if (scene.hoop) {
      // Rim and net behind the balls: at 128 px a net in front would cut a ball into specks.
      const h = hoopGeometry(scene.hoop.side);
      g.strokeStyle = css([200, 202, 206], 0.85);
      g.lineWidth = Math.max(0.6, 0.015 * ppm);
      for (let k = 0; k <= 4; k++) {
        const u = k / 4;
        g.beginPath();
        g.moveTo(X(h.frontRim + (h.backRim - h.frontRim) * u), Y(HOOP.rimY));
        g.lineTo(X(h.centre + (h.backRim - h.frontRim) * (u - 0.5) * 0.6), Y(HOOP.rimY - HOOP.netDepth));
        g.stroke();
      }
      g.strokeStyle = css([104, 108, 114]);
      g.lineWidth = Math.max(1, 0.05 * ppm);
      g.beginPath();
      g.moveTo(X(h.frontRim), Y(HOOP.rimY));
      g.lineTo(X(h.backRim), Y(HOOP.rimY));
      g.lineTo(X(h.board), Y(HOOP.rimY));
      g.stroke();
    }
    if (pose.character) drawCharacter(pose.character, X, Y, ppm);
    for (const b of bodies) drawBody(b, X, Y, ppm);
    // The light over everything: level and colour temperature.
    g.globalCompositeOperation = 'multiply';
    g.fillStyle = lightTint;
    g.fillRect(0, 0, size, size);
    g.globalCompositeOperation = 'source-over';

    const rgba = g.getImageData(0, 0, size, size).data;
    const rgb = new Uint8Array(size * size * 3);
    for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
      rgb[q] = rgba[p] ?? 0;
      rgb[q + 1] = rgba[p + 1] ?? 0;
      rgb[q + 2] = rgba[p + 2] ?? 0;
    }
    return rgb;
  }

  return { size, views, frame };
}
