import { hoopGeometry, PENDULUM_ANCHOR_Y } from './simulate.ts';
import { STAGE_HALF_WIDTH, type Scene, type Shot } from './scene.ts';
import type { FramePose } from './trace.ts';

/** The window of the world a frame shows: square, `width` metres wide, centre (cx, cy). */
export interface CameraView {
  readonly cx: number;
  readonly cy: number;
  readonly width: number;
  /** Index of the shot this frame belongs to. */
  readonly shot: number;
}

const WIDTH = { wide: 6.8, pan: 5.6, follow: 4.6, close: 3.0 } as const;
/** The lowest world y a view may show: a little floor below y = 0, never a void. */
const FLOOR_MARGIN = 0.45;

function targetPoint(scene: Scene, shot: Shot, pose: FramePose): [number, number] {
  const t = shot.target;
  const body = pose.bodies.find((b) => b.id === t);
  if (body) return [body.x, body.y];
  if (t === 'hoop' && scene.hoop) return [hoopGeometry(scene.hoop.side).centre, 2.6];
  if (t === 'stack' && scene.boxStack) return [scene.boxStack.x, 0.6 * scene.boxStack.count];
  if (t === 'pendulum' && scene.pendulum) return [scene.pendulum.anchorX, PENDULUM_ANCHOR_Y - scene.pendulum.length];
  if (t === 'ramp' && scene.ramp) return [scene.ramp.side === 'right' ? 2 : -2, 0.6];
  if (t === 'character' && scene.character) return [scene.character.x, 1];
  const first = pose.bodies[0];
  return first ? [first.x, first.y] : [0, 1.5];
}

function clampView(cx: number, cy: number, width: number): [number, number] {
  const half = width / 2;
  const maxX = STAGE_HALF_WIDTH + 0.4 - half;
  return [Math.max(-maxX, Math.min(maxX, cx)), Math.max(half - FLOOR_MARGIN, cy)];
}

/**
 * One view per frame. Static shots hold; pans sweep across the stage (direction from the seed);
 * follow shots track their target horizontally with a smooth lag (vertical framing stays fixed,
 * so a fall reads as a fall). A cut starts each new shot.
 */
export function cameraPath(scene: Scene, frames: readonly FramePose[]): CameraView[] {
  const views: CameraView[] = [];
  let start = 0;
  scene.shots.forEach((shot, shotIndex) => {
    const first = Math.round(start * scene.fps);
    const end = shotIndex === scene.shots.length - 1 ? frames.length : Math.round((start + shot.durationS) * scene.fps);
    start += shot.durationS;
    const width = shot.framing === 'close' ? WIDTH.close : WIDTH[shot.motion === 'static' ? 'wide' : shot.motion];
    const firstPose = frames[Math.min(first, frames.length - 1)];
    if (!firstPose) return;
    const [tx, ty] = shot.framing === 'close' || shot.motion === 'follow' ? targetPoint(scene, shot, firstPose) : [0, 0];
    const baseCy = shot.framing === 'close' ? Math.max(width / 2 - FLOOR_MARGIN, Math.min(ty + 0.2, 4.5)) : width / 2 - FLOOR_MARGIN + 0.2;
    let cx = shot.framing === 'close' || shot.motion === 'follow' ? tx : 0;
    const panFrom = ((scene.seed >>> 3) & 1) === 0 ? -1 : 1;
    for (let i = first; i < end; i++) {
      const u = end - first > 1 ? (i - first) / (end - first - 1) : 0;
      if (shot.motion === 'pan') {
        const reach = STAGE_HALF_WIDTH + 0.4 - width / 2;
        cx = (shot.framing === 'close' ? tx : 0) + panFrom * reach * (1 - 2 * u) * (shot.framing === 'close' ? 0.35 : 1);
      } else if (shot.motion === 'follow') {
        const pose = frames[i];
        if (pose) cx += (targetPoint(scene, shot, pose)[0] - cx) * Math.min(1, 4 / scene.fps);
      }
      const [x, y] = clampView(cx, baseCy, width);
      views.push({ cx: x, cy: y, width, shot: shotIndex });
    }
  });
  return views;
}
