import type { PromptFacts } from '../prompts.ts';
import type { Colour, Setting } from '../scene.ts';
import { detectOnsetEvents, type Onset } from './audio-onsets.ts';
import { classifySetting, settingFeatures, type SettingPrototype } from './setting-classifier.ts';
import { analyzeVideo, boxesInColumn, radius, type Blob, type Track, type TrackPoint, type VideoAnalysis, type VideoInput } from './video-analysis.ts';

/**
 * The physics bench's judge: given a clip's frames, sound and prompt, it decides three things from
 * pixels and sound alone — does the video show what the prompt asks (adherence), does it move like
 * our world (physics), and do impacts sound when they happen (sync) — each with its reasons.
 */
export interface AxisVerdict {
  readonly pass: boolean;
  readonly reasons: readonly string[];
}

export interface ClipVerdict {
  readonly adherence: AxisVerdict;
  readonly physics: AxisVerdict;
  readonly sync: AxisVerdict;
  readonly measured: {
    readonly shots: number;
    readonly setting: Setting;
    readonly colours: Partial<Record<Colour, number>>;
    readonly gravityPxPerFrame2: readonly (number | null)[];
    readonly visualImpacts: number;
    readonly audioOnsets: number;
    readonly matchedImpacts: number;
    /** The lag (ms) that best lines up impacts with onsets, and how much better it does than no lag. */
    readonly syncLagMs: number;
    readonly syncGain: number;
  };
}

export interface ClipToJudge {
  readonly video: VideoInput;
  readonly audio: { readonly pcm: Float32Array; readonly sampleRate: number };
  readonly facts: PromptFacts;
}

type Shape = 'ball' | 'box';

interface Expectation {
  readonly colour: Colour;
  readonly shapes: Set<Shape>;
  count: number;
  boxCount: number;
  readonly labels: string[];
}

function expectations(facts: PromptFacts): Map<Colour, Expectation> {
  const byColour = new Map<Colour, Expectation>();
  const add = (colour: Colour, shape: Shape, count: number, label: string) => {
    const e = byColour.get(colour) ?? { colour, shapes: new Set<Shape>(), count: 0, boxCount: 0, labels: [] };
    e.shapes.add(shape);
    e.count += count;
    if (shape === 'box') e.boxCount += count;
    e.labels.push(label);
    byColour.set(colour, e);
  };
  for (const o of facts.objects) add(o.colour, o.material === 'wooden box' ? 'box' : 'ball', o.count, `${o.count} ${o.colour} ${o.material}${o.count > 1 ? 's' : ''}`);
  if (facts.pendulum) add(facts.pendulum.colour, 'ball', 1, `a ${facts.pendulum.colour} ${facts.pendulum.material} on a pendulum`);
  if (facts.boxStack) add(facts.boxStack.colour, 'box', facts.boxStack.count, `a stack of ${facts.boxStack.count} ${facts.boxStack.colour} boxes`);
  return byColour;
}

const touchesBorder = (b: Blob, size: number, margin = 1) => b.minX <= margin || b.minY <= margin || b.maxX >= size - 1 - margin || b.maxY >= size - 1 - margin;
/** Would a blob moving by (dx, dy) per frame be at or past the frame's edge one frame later? */
const leavesFrame = (b: Blob, dx: number, dy: number, size: number) =>
  b.minX + dx <= 1 || b.minY + dy <= 1 || b.maxX + dx >= size - 2 || b.maxY + dy >= size - 2;

function judgeAdherence(analysis: VideoAnalysis, facts: PromptFacts, setting: Setting): AxisVerdict {
  const reasons: string[] = [];
  const { blobs, size } = analysis;
  const minArea = Math.max(3, Math.round(size * size * 0.00018));
  const expected = expectations(facts);
  const seen = new Map<Colour, { frames: number; maxCount: number; corners: number[]; bigCorners: number[]; blocky: boolean; firstBoxCount: number | undefined }>();
  blobs.forEach((frameBlobs) => {
    const perColour = new Map<Colour, Blob[]>();
    for (const b of frameBlobs) {
      if (b.area < minArea) continue;
      perColour.set(b.colour, [...(perColour.get(b.colour) ?? []), b]);
    }
    for (const [colour, list] of perColour) {
      const s = seen.get(colour) ?? { frames: 0, maxCount: 0, corners: [], bigCorners: [], blocky: false, firstBoxCount: undefined };
      s.frames++;
      s.maxCount = Math.max(s.maxCount, list.length);
      // A disc leaves its bounding box's corners empty, an upright box fills them; small rasters blur the
      // difference, so the shape is judged over all frames.
      for (const b of list) {
        if (touchesBorder(b, size)) continue;
        if (b.area >= 30) s.corners.push(b.corners);
        if (b.area >= 64) s.bigCorners.push(b.corners);
      }
      s.blocky ||= list.some((b) => b.area >= 60 && b.fill >= 0.85 && !touchesBorder(b, size));
      if (s.firstBoxCount === undefined && list.every((b) => !touchesBorder(b, size))) {
        // Boxes stacked in a column make one blob n times as long as it is wide, upright or leaning.
        s.firstBoxCount = list.reduce((n, b) => n + boxesInColumn(b), 0);
      }
      seen.set(colour, s);
    }
  });
  for (const [colour, e] of expected) {
    const s = seen.get(colour);
    const what = e.labels.join(' and ');
    if (!s || s.frames < 2) {
      reasons.push(`expected ${what}, but nothing ${colour} is seen`);
      continue;
    }
    const corners = [...s.corners].sort((a, b) => a - b);
    const mostCorners = corners[corners.length - 1] ?? 0;
    // Below ~9 px across, a rasterised disc is nearly square: only big blobs say "ball" or "box".
    const bigCorners = [...s.bigCorners].sort((a, b) => a - b);
    const bigMedian = bigCorners[Math.floor(bigCorners.length / 2)] ?? 0;
    if (e.shapes.has('box') && corners.length > 0 && mostCorners < 0.4 && !s.blocky) reasons.push(`expected ${what}, but the ${colour} thing is not box-shaped`);
    if (!e.shapes.has('box') && bigCorners.length >= 3 && bigMedian >= 0.6) reasons.push(`expected ${what}, but the ${colour} thing is box-shaped`);
    if (e.boxCount > 1) {
      const counted = Math.max(s.maxCount, s.firstBoxCount ?? 0);
      if (counted !== e.count) reasons.push(`expected ${what}, but counted ${counted}`);
    } else if (s.maxCount !== e.count) {
      reasons.push(`expected ${what}, but at most ${s.maxCount} ${colour} thing${s.maxCount === 1 ? ' is' : 's are'} seen at once`);
    }
  }
  for (const [colour, s] of seen) {
    if (!expected.has(colour) && s.frames >= 3) reasons.push(`a ${colour} object that the prompt does not ask for is seen in ${s.frames} frames`);
  }
  if (facts.setting && facts.setting !== setting) reasons.push(`the prompt asks for a ${facts.setting}, the video looks like a ${setting}`);
  return { pass: reasons.length === 0, reasons };
}

/** Per-frame displacements of a track. */
const steps = (t: Track) =>
  t.points.slice(1).map((p, i) => {
    const q = t.points[i] as TrackPoint;
    const gap = p.frame - q.frame;
    return [(p.x - q.x) / gap, (p.y - q.y) / gap] as const;
  });

interface Bounce {
  readonly track: Track;
  /** Index in track.points of the lowest point, and of the last point of a 1 px plateau there. */
  readonly at: number;
  readonly end: number;
  readonly vIn: number;
}

function bouncesOf(track: Track, minSpeed: number): Bounce[] {
  const out: Bounce[] = [];
  const p = track.points;
  const y = (i: number) => (p[i] as TrackPoint).y;
  const consecutive = (a: number, b: number) => (p[b] as TrackPoint).frame - (p[a] as TrackPoint).frame === b - a;
  for (let k = 1; k + 1 < p.length; k++) {
    // The lowest point of a down-and-up: a local maximum of image y (ties go to the first), judged over
    // two frames each side so centroid jitter and a frame resting on the floor don't hide it.
    if (!(y(k) >= y(k - 1) && y(k) >= y(k + 1))) continue;
    const before = k >= 2 && consecutive(k - 2, k) ? (y(k) - y(k - 2)) / 2 : y(k) - y(k - 1);
    const after = k + 2 < p.length && consecutive(k, k + 2) ? (y(k) - y(k + 2)) / 2 : y(k) - y(k + 1);
    if (before > minSpeed && after > minSpeed * 0.5) {
      const end = y(k + 1) === y(k) ? k + 1 : k;
      out.push({ track, at: k, end, vIn: before });
      k = end + 1;
    }
  }
  return out;
}

/** Least-squares quadratic through 4 points at t = 0..3: returns [accel (2c), rms residual]. */
function quadFit(v: readonly number[]): [number, number] {
  // Orthogonal-polynomial fit for t = 0,1,2,3.
  const [a = 0, b = 0, c = 0, d = 0] = v;
  const mean = (a + b + c + d) / 4;
  const slope = (-3 * a - b + c + 3 * d) / 10;
  const curve = (a - b - c + d) / 4; // coefficient of (t−1.5)² − 1.25
  const fitted = [0, 1, 2, 3].map((t) => mean + slope * (t - 1.5) + curve * ((t - 1.5) ** 2 - 1.25));
  const rms = Math.sqrt(v.reduce((s, y, i) => s + (y - (fitted[i] ?? 0)) ** 2, 0) / 4);
  return [2 * curve, rms];
}

function rowColour(video: VideoInput, frame: number, row: number, x0: number, x1: number): [number, number, number] | undefined {
  const { size, frames } = video;
  if (row < 0 || row >= size) return undefined;
  let r = 0;
  let g = 0;
  let b = 0;
  let n = 0;
  for (let x = Math.max(0, x0); x <= Math.min(size - 1, x1); x++) {
    const i = (frame * size * size + row * size + x) * 3;
    r += frames[i] ?? 0;
    g += frames[i + 1] ?? 0;
    b += frames[i + 2] ?? 0;
    n++;
  }
  return n > 0 ? [r / n, g / n, b / n] : undefined;
}

/**
 * Is there an edge (a surface) under a blob, within the distance it moved? Rows are read in the
 * strips just left and right of the blob, from its centre down, because a thing resting on a floor
 * hides the floor's edge behind itself.
 */
function surfaceBelow(video: VideoInput, frame: number, b: Blob, reach: number, others: readonly Blob[]): boolean {
  if (b.maxY + 2 >= video.size) return true;
  const bottom = Math.min(video.size - 1, b.maxY + Math.ceil(reach) + 2);
  if (others.some((o) => (o.x !== b.x || o.y !== b.y) && o.minY <= bottom && o.maxY >= b.maxY - 1 && o.maxX >= b.minX - 1 && o.minX <= b.maxX + 1)) return true;
  const width = Math.max(2, Math.round((b.maxX - b.minX) / 2));
  for (const [x0, x1] of [[b.minX - 1 - width, b.minX - 1], [b.maxX + 1, b.maxX + 1 + width], [b.minX, b.maxX]] as const) {
    let previous = rowColour(video, frame, Math.round(b.y), x0, x1);
    for (let row = Math.round(b.y) + 1; row <= bottom; row++) {
      if (x0 === b.minX && row <= b.maxY) continue; // under the blob itself only below it
      const current = rowColour(video, frame, row, x0, x1);
      if (current && previous && Math.abs(current[0] - previous[0]) + Math.abs(current[1] - previous[1]) + Math.abs(current[2] - previous[2]) > 14) return true;
      previous = current;
    }
  }
  return false;
}

/**
 * Is a *moving* thing touching this one at `frame`? Only something in motion can knock energy into
 * it; bouncing off a box that stands still is an ordinary bounce.
 */
function knockedAt(all: readonly (readonly Blob[])[], frame: number, b: Blob, size = 0): boolean {
  return (all[frame] ?? []).some((o) => {
    if ((o.x === b.x && o.y === b.y) || Math.hypot(o.x - b.x, o.y - b.y) >= 1.15 * (radius(b) + radius(o)) + 1.5) return false;
    // Given a frame size: a neighbour that leaps up along with this one did not knock it (two landings, reversed).
    if (size > 0) {
      const next = (all[frame + 1] ?? []).filter((q) => q.colour === o.colour).sort((p, q) => Math.hypot(p.x - o.x, p.y - o.y) - Math.hypot(q.x - o.x, q.y - o.y))[0];
      if (next && o.y - next.y > 0.02 * size && o.y - next.y > 1.5 * Math.abs(next.x - o.x)) return false;
    }
    const moved = (f: number) => {
      const same = (all[f] ?? []).filter((q) => q.colour === o.colour);
      if (same.length === 0) return true;
      return Math.min(...same.map((q) => Math.hypot(q.x - o.x, q.y - o.y))) > 1.5;
    };
    return moved(frame - 1) || moved(frame + 1);
  });
}

/**
 * When, in frames, a contact near track point i happened: where the straight paths before it (from
 * points i−2, i−1) and after it (points i+1, i+2) meet, clamped between frames i−1 and i+1.
 */
function contactFrame(p: readonly TrackPoint[], i: number, verticalOnly = false): number {
  const [a, b, c, d] = [p[i - 2], p[i - 1], p[i + 1], p[i + 2]];
  const here = (p[i] as TrackPoint).frame;
  if (!a || !b || !c || !d || b.frame - a.frame !== 1 || d.frame - c.frame !== 1) return here;
  // A blob clipped by a side of the frame has a true height but not a true width: time it from y alone.
  const x = (q: TrackPoint) => (verticalOnly ? 0 : q.x);
  const vin = [x(b) - x(a), b.y - a.y] as const;
  const vout = [x(d) - x(c), d.y - c.y] as const;
  // p_in(t) = b + vin (t − b.frame), p_out(t) = c + vout (t − c.frame); minimise |p_in − p_out|² over t.
  const A = [x(b) - vin[0] * b.frame - x(c) + vout[0] * c.frame, b.y - vin[1] * b.frame - c.y + vout[1] * c.frame];
  const B = [vin[0] - vout[0], vin[1] - vout[1]];
  const bb = (B[0] ?? 0) ** 2 + (B[1] ?? 0) ** 2;
  if (bb < 1e-9) return here;
  const t = -((A[0] ?? 0) * (B[0] ?? 0) + (A[1] ?? 0) * (B[1] ?? 0)) / bb;
  return Math.min(c.frame, Math.max(b.frame, t));
}

interface Impact {
  readonly t: number;
  readonly what: string;
}

function judgePhysics(video: VideoInput, analysis: VideoAnalysis, facts: PromptFacts): { verdict: AxisVerdict; gravity: (number | null)[]; impacts: Impact[] } {
  const reasons: string[] = [];
  const { size, shotStarts, frameCount, tracks, blobs, fps } = analysis;
  const minArea = Math.max(3, Math.round(size * size * 0.00018));
  const impacts: Impact[] = [];
  const shotEnd = (s: number) => (shotStarts[s + 1] ?? frameCount) - 1;

  // One short shot can be a cut the judge saw twice; several are the picture flickering between views.
  const short = shotStarts.map((start, s) => [s, shotEnd(s) - start + 1] as const).filter(([, length]) => length < 3);
  if (short.length >= 2 && frameCount >= 6) {
    for (const [s, length] of short) reasons.push(`shot ${s + 1} lasts ${length} frame${length === 1 ? '' : 's'}: the picture flickers between views`);
  }

  // Distance to a blob's box, not its centre: a box thrown off a stack starts at the stack's edge.
  const boxDistance = (o: Blob, x: number, y: number) => Math.hypot(Math.max(0, o.minX - x, x - o.maxX), Math.max(0, o.minY - y, y - o.maxY));
  const nearSameColour = (frame: number, colour: Colour, x: number, y: number, reach: number, except?: TrackPoint) =>
    (blobs[frame] ?? []).some((o) => o.colour === colour && (except === undefined || o.x !== except.x || o.y !== except.y) && boxDistance(o, x, y) <= reach);
  /** Another-coloured thing over this spot in that frame: it can hide this one (occlusion is no vanishing). */
  // The occluder must be there on both sides of the change (a thing that turns into another colour is not hidden by it).
  const occluded = (frame: number, other: number, b: Blob) =>
    (blobs[frame] ?? []).some(
      (o) =>
        o.colour !== b.colour &&
        Math.hypot(o.x - b.x, o.y - b.y) <= radius(o) + 1 &&
        (blobs[other] ?? []).some((q) => q.colour === o.colour && Math.hypot(q.x - o.x, q.y - o.y) <= radius(q) + radius(b) + 3 && Math.hypot(q.x - b.x, q.y - b.y) > radius(b)),
    );

  for (const track of tracks) {
    const first = track.points[0] as TrackPoint;
    const last = track.points[track.points.length - 1] as TrackPoint;
    const significant = track.points.reduce((m, p) => Math.max(m, p.area), 0) >= 2 * minArea;
    if (!significant) continue;
    const r = radius(first);
    // Appearing from nowhere: not at a shot's start, not entering at the border, not split from a same-coloured blob.
    const second = track.points[1] ?? first;
    const beforeLast = track.points[track.points.length - 2] ?? last;
    if (first.frame !== shotStarts[track.shot] && !leavesFrame(first, first.x - second.x, first.y - second.y, size) && !occluded(first.frame - 1, first.frame, first) && !nearSameColour(first.frame - 1, track.colour, first.x, first.y, 3 * r + 0.06 * size)) {
      const replaced = tracks.find((o) => o !== track && o.colour !== track.colour && o.points[o.points.length - 1]?.frame === first.frame - 1 && Math.hypot((o.points[o.points.length - 1] as TrackPoint).x - first.x, (o.points[o.points.length - 1] as TrackPoint).y - first.y) < 2 * r + 3);
      reasons.push(replaced ? `an object changes colour from ${replaced.colour} to ${track.colour} at frame ${first.frame}` : `a ${track.colour} object appears from nowhere at frame ${first.frame}`);
    }
    if (last.frame !== shotEnd(track.shot) && !leavesFrame(last, last.x - beforeLast.x, last.y - beforeLast.y, size) && !occluded(last.frame + 1, last.frame, last) && !nearSameColour(last.frame + 1, track.colour, last.x, last.y, 3 * radius(last) + 0.06 * size)) {
      const successor = tracks.find((o) => o !== track && o.points[0]?.frame === last.frame + 1 && Math.hypot((o.points[0] as TrackPoint).x - last.x, (o.points[0] as TrackPoint).y - last.y) < 2 * radius(last) + 3);
      if (!successor) reasons.push(`a ${track.colour} object vanishes at frame ${last.frame + 1}`);
      // Carried on where it was, in another colour: the same thing, changed.
      else if (successor.colour !== track.colour) reasons.push(`an object changes colour from ${track.colour} to ${successor.colour} at frame ${last.frame + 1}`);
    }
    // Jumps: a displacement far larger than the motion just before and after it.
    const d = steps(track).map(([dx, dy]) => Math.hypot(dx, dy));
    const count = (frame: number) => (blobs[frame] ?? []).filter((o) => o.colour === track.colour).length;
    d.forEach((step, i) => {
      const around = Math.max(d[i - 1] ?? 0, d[i + 1] ?? 0, 0.02 * size);
      // A stack splitting or two same-coloured things meeting moves a blob's centre without anything jumping.
      const from = (track.points[i] as TrackPoint).frame;
      const to = (track.points[i + 1] as TrackPoint).frame;
      if (count(from) !== count(to)) return;
      // A jump stands out against the motion on both sides: a first or last step (a fall into a bounce,
      // a throw leaving the hand) has only one side to compare with.
      if (d[i - 1] === undefined || d[i + 1] === undefined) return;
      if (step > 0.1 * size && step > 3 * around) reasons.push(`a ${track.colour} object jumps ${step.toFixed(0)} px at frame ${(track.points[i + 1] as TrackPoint).frame}`);
    });
    // Size permanence, for objects that never touch another of their colour.
    const isolated = track.points.every((p) => !(blobs[p.frame] ?? []).some((o) => o.colour === track.colour && (o.x !== p.x || o.y !== p.y) && Math.hypot(o.x - p.x, o.y - p.y) < 4 * radius(p) + 4));
    if (isolated && track.points.length >= 4) {
      const inside = track.points.filter((p) => !touchesBorder(p, size, 1));
      const areas = inside.map((p) => p.area).sort((a, b) => a - b);
      const median = areas[Math.floor(areas.length / 2)] ?? 0;
      if (median >= 16 && inside.some((p) => p.area < 0.35 * median || p.area > 2.8 * median)) reasons.push(`a ${track.colour} object changes size`);
    }
  }

  // Gravity: the vertical acceleration of free flight, per shot.
  const pendulumColour = facts.pendulum?.colour;
  const gravity: (number | null)[] = [];
  shotStarts.forEach((_, s) => {
    const accelerations: number[] = [];
    for (const track of tracks) {
      if (track.shot !== s || track.colour === pendulumColour) continue;
      const p = track.points;
      for (let i = 0; i + 3 < p.length; i++) {
        const w = p.slice(i, i + 4);
        if ((w[3] as TrackPoint).frame - (w[0] as TrackPoint).frame !== 3) continue;
        if (w.some((q) => touchesBorder(q, size, 1) || q.area < 2 * minArea)) continue;
        const ys = w.map((q) => q.y);
        const xs = w.map((q) => q.x);
        const dys = ys.slice(1).map((y, k) => y - (ys[k] ?? 0));
        // A bounce inside the window, or just outside it (its contact may fall inside the first or last step).
        const ext = [p[i - 1], ...w, p[i + 4]].filter((q, k, all): q is TrackPoint => q !== undefined && (k === 0 ? all[1]!.frame - q.frame === 1 : k === all.length - 1 ? q.frame - all[k - 1]!.frame === 1 : true));
        const extDys = ext.slice(1).map((q, k) => q.y - (ext[k] as TrackPoint).y);
        if (extDys.some((dy, k) => k > 0 && (extDys[k - 1] ?? 0) > 0.3 && dy < -0.3)) continue;
        // A landing: coming down onto the lowest ground this thing reaches in the shot and stopping there
        // (the floor's push, not gravity, slows it; flipped gravity never parks a thing on the ground).
        const lowest = p.reduce((m, q) => (q.frame >= shotStarts[s]! && q.frame <= shotEnd(s) ? Math.max(m, q.maxY) : m), 0);
        if ((dys[0] ?? 0) > 0.3 && (w[3] as TrackPoint).maxY >= lowest - 1.5 && (dys[2] ?? 0) < (dys[1] ?? 0)) continue;
        const travel = Math.abs((ys[3] ?? 0) - (ys[0] ?? 0));
        if (travel < 0.03 * size) continue;
        const [ay, rmsY] = quadFit(ys);
        const [ax] = quadFit(xs);
        if (rmsY > 0.6 + 0.03 * travel || Math.abs(ax) > 0.35 * Math.abs(ay) + 0.3) continue;
        accelerations.push(ay);
      }
    }
    if (accelerations.length === 0) {
      gravity.push(null);
      return;
    }
    const sorted = [...accelerations].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    gravity.push(median);
    if (median <= 0.05) {
      reasons.push(`in shot ${s + 1} falling things accelerate ${median < 0 ? 'upward' : 'not at all'} (${median.toFixed(2)} px/frame²)`);
    } else if (accelerations.length >= 3) {
      const agree = accelerations.filter((a) => a >= 0.55 * median && a <= 1.7 * median).length / accelerations.length;
      if (agree < 0.5) reasons.push(`in shot ${s + 1} things fall with inconsistent gravity (${Math.round(agree * 100)}% agree with ${median.toFixed(2)} px/frame²)`);
    }
  });

  // Bounces: at a surface, and never gaining height (time runs forward).
  const minSpeed = 0.008 * size;
  // A figure's wind-up moves a held ball down and up like a small bounce: with a figure, only big falls count.
  const minFall = (facts.character ? 0.1 : 0.04) * size;
  // Toppling boxes tumble: their blob's centre says little about when they knock, so their impacts go unchecked.
  const boxColours = new Set<Colour>([...(facts.boxStack ? [facts.boxStack.colour] : []), ...facts.objects.filter((o) => o.material === 'wooden box').map((o) => o.colour)]);
  for (const track of tracks) {
    if (track.colour === pendulumColour) continue;
    const listenFor = !boxColours.has(track.colour);
    const p = track.points;
    for (const bounce of bouncesOf(track, minSpeed)) {
      const at = p[bounce.at] as TrackPoint;
      // At the top or bottom edge the blob is clipped; next to a moving thing it may have been hit, not bounced.
      if (at.minY <= 1 || at.maxY >= size - 2 || knockedAt(blobs, at.frame, at)) continue;
      // A figure's swing reverses a held ball gently and at hand height; a free fall reverses fast, or on the ground.
      const swing = facts.character !== undefined && bounce.vIn < 0.035 * size && at.maxY < 0.8 * size;
      if (swing) continue;
      if (!touchesBorder(at, size, 1) && !surfaceBelow(video, at.frame, at, bounce.vIn + 1, blobs[at.frame] ?? [])) {
        reasons.push(`a ${track.colour} object bounces in mid-air at frame ${at.frame}`);
      }
      let apexBefore = bounce.at;
      while (apexBefore > 0 && (p[apexBefore - 1] as TrackPoint).y < (p[apexBefore] as TrackPoint).y) apexBefore--;
      let apexAfter = bounce.end;
      while (apexAfter + 1 < p.length && (p[apexAfter + 1] as TrackPoint).y < (p[apexAfter] as TrackPoint).y) apexAfter++;
      // A fall already under way when the shot starts: its unseen part follows from the speed then and gravity.
      const g = gravity[track.shot] ?? null;
      const [p0, p1] = [p[0] as TrackPoint, p[1]];
      const v0 = p1 && p1.frame - p0.frame === 1 ? p1.y - p0.y : 0;
      const unseen = apexBefore === 0 && p0.frame !== 0 && g !== null && g > 0 && v0 > 0 ? (v0 * v0) / (2 * g) : 0;
      const fallObserved = apexBefore > 0 || p0.frame === 0 || unseen > 0;
      const fall = at.y - (p[apexBefore] as TrackPoint).y + unseen;
      const rise = at.y - (p[apexAfter] as TrackPoint).y;
      // With a figure, small falls count only near the ground, away from the hands.
      const fallNeeded = facts.character && at.maxY < 0.8 * size ? minFall : 0.04 * size;
      // Something that hit it just before the floor (a thrown ball) may have given it the height.
      const prior = p[bounce.at - 1];
      const hitOnTheWay = prior !== undefined && at.frame - prior.frame === 1 && knockedAt(blobs, prior.frame, prior);
      const byTheFigure = facts.character !== undefined && at.maxY < 0.8 * size;
      if (fallObserved && fall >= fallNeeded && rise > 1.12 * fall + 1.5 && !hitOnTheWay && !byTheFigure) {
        reasons.push(`a ${track.colour} object bounces higher (${rise.toFixed(0)} px) than it fell (${fall.toFixed(0)} px) at frame ${at.frame}`);
      }
    }
    // Impacts: a sudden change of velocity between frames (beyond gravity's pull) on an isolated thing.
    // The contact lies between the frames before and after, so it is heard within ±1 frame of this one.
    const d = steps(track);
    for (let i = 1; listenFor && i < d.length; i++) {
      const [px, py] = d[i - 1] as readonly [number, number];
      const [qx, qy] = d[i] as readonly [number, number];
      const here = p[i] as TrackPoint;
      if ((p[i + 1] as TrackPoint).frame - (p[i - 1] as TrackPoint).frame !== 2) continue;
      // Clipped at the top or bottom, the blob's centre moves with the clipping; at a side only x is wrong.
      const window = [p[i - 1], here, p[i + 1]] as TrackPoint[];
      const sideClipped = window.some((q) => q.minX <= 1 || q.maxX >= size - 2);
      if (window.some((q) => q.minY <= 1 || q.maxY >= size - 2) || (blobs[here.frame] ?? []).some((o) => (o.x !== here.x || o.y !== here.y) && o.colour === track.colour && Math.hypot(o.x - here.x, o.y - here.y) < 4 * radius(here) + 4)) continue;
      const change = sideClipped ? Math.abs(qy - py - (gravity[track.shot] ?? 0)) : Math.hypot(qx - px, qy - py - (gravity[track.shot] ?? 0));
      // A figure's swing and throw move a ball silently: with a figure, only things that were falling freely count.
      // The step into the contact is cut short by it, so free fall may show only in the steps before.
      const g = gravity[track.shot] ?? 0;
      const freeFall = (k: number) => {
        const [a, b] = [d[k - 1], d[k]];
        return a !== undefined && b !== undefined && b[1] > 0.01 * size && Math.abs(b[1] - a[1] - g) < 0.8 * g + 1;
      };
      const falling = py > 0.01 * size && (freeFall(i - 1) || freeFall(i - 2));
      if (change < 0.03 * size || (facts.character && !falling)) continue;
      impacts.push({ t: contactFrame(p, i, sideClipped) / fps, what: `${track.colour} impact at frame ${here.frame}` });
    }
    // Lying or rolling on the ground, then leaping steeply up: no bounce fed it and nothing kicks that
    // way, so time is running backwards (a landing, reversed).
    // The lowest this thing gets in this shot is where the ground is under it.
    const ground = p.reduce((m, q) => Math.max(m, q.maxY), 0);
    for (let i = 2; i < d.length; i++) {
      const [qx, qy] = d[i] as readonly [number, number];
      const settled = Math.abs((d[i - 1] as readonly [number, number])[1]) < 0.02 * size && Math.abs((d[i - 2] as readonly [number, number])[1]) < 0.02 * size;
      const at = p[i] as TrackPoint;
      const rise = (k: number) => Math.max(0, -((d[i + k] ?? [0, 0]) as readonly [number, number])[1]);
      const climbs = rise(0) + rise(1) > 0.07 * size || rise(0) + rise(1) + rise(2) > 0.1 * size;
      // A neighbour can knock a resting ball up: that leap is real; a reversed landing goes nearly straight up.
      const knocked = [-1, 0, 1].some((k) => knockedAt(blobs, at.frame + k, (p[i + k] ?? at) as TrackPoint, size));
      // With a figure, its throw can start from rest in the hand: only leaps from the lowest ground this
      // thing ever reaches count, and steeper ones (a throw goes at most ~2:1 up to across).
      const lowEnough = !facts.character || at.maxY >= 0.9 * size; // a figure's hand is never at the bottom of a wide frame
      // Steepness of the change in velocity: a pan or a roll carries on sideways and cancels out.
      const dvx = qx - (d[i - 1] as readonly [number, number])[0];
      if (settled && lowEnough && -qy > 0.02 * size && climbs && -qy > (facts.character ? 2.2 : 1.5) * Math.abs(dvx) && at.minY > 1 && at.maxY < size - 2 && at.maxY >= ground - 0.04 * size && !knocked) {
        reasons.push(`a ${track.colour} object leaps up from the ground at frame ${(p[i] as TrackPoint).frame}`);
      }
    }
  }

  // A stack never builds itself: boxes lying about at the start and standing stacked at the end is
  // a toppling played backwards. (Height over width is the same in every framing.)
  if (facts.boxStack && facts.boxStack.count >= 2) {
    const colour = facts.boxStack.colour;
    const tallness = (frame: number) =>
      (blobs[frame] ?? []).filter((b) => b.colour === colour && !touchesBorder(b, size, 1)).reduce((m, b) => Math.max(m, (b.maxY - b.minY + 1) / (b.maxX - b.minX + 1)), 0);
    const seen = blobs.map((_, f) => f).filter((f) => (blobs[f] ?? []).some((b) => b.colour === colour && !touchesBorder(b, size, 1)));
    const [first, last] = [seen[0], seen[seen.length - 1]];
    if (first !== undefined && last !== undefined && last > first && tallness(first) < 1.3 && tallness(last) >= 1.8) {
      reasons.push(`the ${colour} boxes stack themselves up between frames ${first} and ${last}`);
    }
  }

  // Cuts keep the world: nothing appears right after a cut that was never seen before it.
  for (let s = 1; s < shotStarts.length; s++) {
    const at = shotStarts[s] ?? 0;
    const before = new Set<Colour>();
    for (let f = 0; f < at; f++) for (const b of blobs[f] ?? []) if (b.area >= minArea) before.add(b.colour);
    for (const b of blobs[at] ?? []) {
      if (b.area >= 2 * minArea && !before.has(b.colour)) reasons.push(`a ${b.colour} object appears at the cut to shot ${s + 1}`);
    }
  }
  return { verdict: { pass: reasons.length === 0, reasons: [...new Set(reasons)] }, gravity, impacts };
}

/**
 * How well the impacts line up with onsets at a given lag: each impact scores the strongest onset
 * within ±`window` s of (impact time + lag), weighted by its square root so a loud knock outweighs a faint tick.
 */
function alignment(impacts: readonly Impact[], onsets: readonly Onset[], lag: number, window: number): number {
  let score = 0;
  for (const i of impacts) {
    let best = 0;
    for (const o of onsets) if (Math.abs(o.t - i.t - lag) <= window) best = Math.max(best, Math.sqrt(o.strength));
    score += best;
  }
  return score;
}

function judgeSync(impacts: readonly Impact[], onsets: readonly Onset[], fps: number): { verdict: AxisVerdict; matched: number; lag: number; gain: number } {
  if (impacts.length === 0) return { verdict: { pass: true, reasons: [] }, matched: 0, lag: 0, gain: 1 };
  const tolerance = 1 / fps + 0.01;
  const unmatched = impacts.filter((i) => !onsets.some((o) => Math.abs(o.t - i.t) <= tolerance));
  const matched = impacts.length - unmatched.length;
  const reasons = unmatched.map((i) => `no impact sound within ±1 frame of the ${i.what} (${i.t.toFixed(2)} s)`);
  // Where sounds are dense, a ±1 frame window finds one by chance; the lag that best lines up the
  // impacts with strong onsets (scanned finely) tells a soundtrack shifted against the picture.
  const fine = 0.03;
  const atZero = alignment(impacts, onsets, 0, fine);
  let best = { lag: 0, score: atZero };
  for (let lag = -0.3; lag <= 0.3001; lag += 0.005) {
    const score = alignment(impacts, onsets, lag, fine);
    if (score > best.score + 1e-9 || (Math.abs(score - best.score) <= 1e-9 && Math.abs(lag) < Math.abs(best.lag))) best = { lag, score };
  }
  const shifted = Math.abs(best.lag) > tolerance && best.score > atZero * 1.55 + 0.05;
  if (shifted) reasons.push(`impact sounds ${best.lag > 0 ? 'lag' : 'lead'} the picture by about ${Math.round(Math.abs(best.lag) * 1000)} ms`);
  const pass = matched / impacts.length >= 0.7 && !shifted;
  return { verdict: { pass, reasons: pass ? [] : reasons }, matched, lag: best.lag, gain: best.score / Math.max(atZero, 1e-9) };
}

export function judgeClip(clip: ClipToJudge, prototypes: readonly SettingPrototype[]): ClipVerdict {
  const analysis = analyzeVideo(clip.video);
  const setting = classifySetting(settingFeatures(clip.video, analysis), prototypes).setting;
  const adherence = judgeAdherence(analysis, clip.facts, setting);
  const physics = judgePhysics(clip.video, analysis, clip.facts);
  const onsets = detectOnsetEvents(clip.audio.pcm, clip.audio.sampleRate);
  const sync = judgeSync(physics.impacts, onsets, clip.video.fps);
  const colours: Partial<Record<Colour, number>> = {};
  for (const t of analysis.tracks) colours[t.colour] = (colours[t.colour] ?? 0) + 1;
  return {
    adherence,
    physics: physics.verdict,
    sync: sync.verdict,
    measured: {
      shots: analysis.shotStarts.length,
      setting,
      colours,
      gravityPxPerFrame2: physics.gravity.map((g) => (g === null ? null : Math.round(g * 1000) / 1000)),
      visualImpacts: physics.impacts.length,
      audioOnsets: onsets.length,
      matchedImpacts: sync.matched,
      syncLagMs: Math.round(sync.lag * 1000),
      syncGain: Math.round(sync.gain * 100) / 100,
    },
  };
}
