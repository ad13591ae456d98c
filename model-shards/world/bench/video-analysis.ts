import { COLOURS, type Colour } from '../scene.ts';
import { OBJECT_RGB, rgbToHsv } from '../palette.ts';

/**
 * What the judge sees in a video, from pixels alone: the cuts between shots, and per frame the
 * vivid blobs (the world's moving things are vivid, its stage muted), classified by hue into the
 * palette's colours, then linked across frames into tracks.
 */
export interface VideoInput {
  /** RGB bytes, frame after frame: frames × size × size × 3. */
  readonly frames: Uint8Array;
  readonly size: number;
  readonly fps: number;
}

export interface Blob {
  readonly colour: Colour;
  /** Centroid, px (y down). */
  readonly x: number;
  readonly y: number;
  readonly area: number;
  readonly minX: number;
  readonly maxX: number;
  readonly minY: number;
  readonly maxY: number;
  /** area / bounding-box area: ~0.78 for a disc, ~1 for an upright square. */
  readonly fill: number;
  /** Share of the pixels at the bounding box's corners (each corner and its two edge neighbours) in the blob: ~0 for a disc, ~1 for an upright square. */
  readonly corners: number;
  /** Second central moments of the pixels, px²: [xx, yy, xy] (orientation-free shape). */
  readonly moments: readonly [number, number, number];
}

/** Length and width of a blob along its principal axes, px (exact for a filled rectangle at any tilt). */
export function principalAxes(b: Blob): { length: number; width: number } {
  const [xx, yy, xy] = b.moments;
  const mean = (xx + yy) / 2;
  const spread = Math.sqrt(((xx - yy) / 2) ** 2 + xy * xy);
  return { length: Math.sqrt(12 * (mean + spread)), width: Math.sqrt(12 * Math.max(mean - spread, 1e-6)) };
}

/**
 * How many boxes of a column (upright or leaning) one blob holds: its length over its width. The
 * seams between boxes are not vivid, so an upright column reads up to half a box short, while a
 * leaning one (its antialiased edges thin it) reads about true: the ratio is rounded from a quarter up.
 */
export function boxesInColumn(b: Blob): number {
  const { length, width } = principalAxes(b);
  return Math.max(1, Math.round(length / Math.max(1, width) + 0.25));
}

export interface TrackPoint extends Blob {
  readonly frame: number;
}

export interface Track {
  readonly colour: Colour;
  readonly shot: number;
  readonly points: TrackPoint[];
}

export interface VideoAnalysis {
  readonly frameCount: number;
  readonly size: number;
  readonly fps: number;
  /** First frame of each shot (0 first). */
  readonly shotStarts: readonly number[];
  readonly blobs: readonly (readonly Blob[])[];
  readonly tracks: readonly Track[];
}

const VIVID_SATURATION = 0.5;
const VIVID_VALUE = 0.25;
/** Largest hue distance (degrees) at which a vivid pixel is given a palette colour. */
const HUE_TOLERANCE = 24;
/** Mean grey-level change (0–255) beyond which two frames are different shots. */
const CUT_DIFFERENCE = 4.5;
const PALETTE_HUES: readonly [Colour, number][] = COLOURS.map((c) => [c, rgbToHsv(OBJECT_RGB[c])[0]]);

/** Palette index per pixel (−1: not vivid, or no palette colour near its hue). */
export function classifyPixels(rgb: Uint8Array, offset: number, pixels: number): Int8Array {
  const out = new Int8Array(pixels).fill(-1);
  for (let p = 0; p < pixels; p++) {
    const i = offset + p * 3;
    const r = rgb[i] ?? 0;
    const g = rgb[i + 1] ?? 0;
    const b = rgb[i + 2] ?? 0;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    if (max < VIVID_VALUE * 255 || max - min < VIVID_SATURATION * max) continue;
    const [hue] = rgbToHsv([r, g, b]);
    let best = -1;
    let bestDistance = HUE_TOLERANCE;
    PALETTE_HUES.forEach(([, h], k) => {
      const d = Math.min(Math.abs(hue - h), 360 - Math.abs(hue - h));
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    });
    out[p] = best;
  }
  return out;
}

/** Connected blobs (8-connected) of each palette colour in one frame, at least `minArea` px. */
export function findBlobs(classes: Int8Array, size: number, minArea: number): Blob[] {
  const seen = new Uint8Array(classes.length);
  const label = new Int32Array(classes.length).fill(-1);
  let nextLabel = 0;
  const blobs: Blob[] = [];
  const stack: number[] = [];
  for (let start = 0; start < classes.length; start++) {
    const k = classes[start] ?? -1;
    if (k < 0 || seen[start]) continue;
    let area = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    let minX = size;
    let maxX = -1;
    let minY = size;
    let maxY = -1;
    stack.push(start);
    seen[start] = 1;
    const id = nextLabel++;
    while (stack.length > 0) {
      const p = stack.pop() ?? 0;
      label[p] = id;
      const x = p % size;
      const y = (p - x) / size;
      area++;
      sx += x;
      sy += y;
      sxx += x * x;
      syy += y * y;
      sxy += x * y;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= size || ny >= size) continue;
          const q = ny * size + nx;
          if (!seen[q] && classes[q] === k) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    if (area < minArea) continue;
    const colour = COLOURS[k] as Colour;
    let inCorners = 0;
    for (const [cx, cy, sx, sy] of [[minX, minY, 1, 1], [maxX, minY, -1, 1], [minX, maxY, 1, -1], [maxX, maxY, -1, -1]] as const) {
      // The corner pixel and its two neighbours along the edges: outside any disc, inside an upright square.
      for (const [dx, dy] of [[0, 0], [sx, 0], [0, sy]] as const) if (label[(cy + dy) * size + cx + dx] === id) inCorners++;
    }
    const corners = maxX - minX >= 4 && maxY - minY >= 4 ? inCorners / 12 : 0;
    const [mx, my] = [sx / area, sy / area];
    // A pixel is a unit square, not a point: each adds 1/12 px² of its own spread on each axis.
    const moments = [sxx / area - mx * mx + 1 / 12, syy / area - my * my + 1 / 12, sxy / area - mx * my] as const;
    blobs.push({ colour, x: mx + 0.5, y: my + 0.5, area, minX, maxX, minY, maxY, fill: area / ((maxX - minX + 1) * (maxY - minY + 1)), corners, moments });
  }
  return mergeFragments(blobs);
}

/** Blobs of one colour whose boxes (nearly) touch are one thing split by a seam, a net or a highlight. */
function mergeFragments(blobs: Blob[]): Blob[] {
  const out = [...blobs];
  for (let changed = true; changed; ) {
    changed = false;
    outer: for (let i = 0; i < out.length; i++) {
      for (let j = i + 1; j < out.length; j++) {
        const a = out[i] as Blob;
        const b = out[j] as Blob;
        if (a.colour !== b.colour) continue;
        if (a.minX > b.maxX + 2 || b.minX > a.maxX + 2 || a.minY > b.maxY + 2 || b.minY > a.maxY + 2) continue;
        const area = a.area + b.area;
        const minX = Math.min(a.minX, b.minX);
        const maxX = Math.max(a.maxX, b.maxX);
        const minY = Math.min(a.minY, b.minY);
        const maxY = Math.max(a.maxY, b.maxY);
        const x = (a.x * a.area + b.x * b.area) / area;
        const y = (a.y * a.area + b.y * b.area) / area;
        // Moments about the merged centre (parallel axes).
        const about = (q: Blob, k: 0 | 1 | 2) => q.moments[k] + (k === 0 ? (q.x - x) ** 2 : k === 1 ? (q.y - y) ** 2 : (q.x - x) * (q.y - y));
        const moments = [0, 1, 2].map((k) => (about(a, k as 0 | 1 | 2) * a.area + about(b, k as 0 | 1 | 2) * b.area) / area) as [number, number, number];
        out[i] = { colour: a.colour, x, y, area, minX, maxX, minY, maxY, fill: area / ((maxX - minX + 1) * (maxY - minY + 1)), corners: 0, moments };
        out.splice(j, 1);
        changed = true;
        break outer;
      }
    }
  }
  return out;
}

/**
 * The frame's backdrop as 64×64 grey levels (box-filtered): the muted pixels only, since the view is
 * what a cut changes and vivid things move on their own. Cells mostly covered by vivid pixels are NaN.
 */
function thumbnail(rgb: Uint8Array, offset: number, size: number): Float32Array {
  const side = 64;
  const sum = new Float32Array(side * side);
  const muted = new Float32Array(side * side);
  const count = new Float32Array(side * side);
  for (let y = 0; y < size; y++) {
    const ty = Math.floor((y * side) / size);
    for (let x = 0; x < size; x++) {
      const i = offset + (y * size + x) * 3;
      const r = rgb[i] ?? 0;
      const g = rgb[i + 1] ?? 0;
      const b = rgb[i + 2] ?? 0;
      const t = ty * side + Math.floor((x * side) / size);
      count[t] = (count[t] ?? 0) + 1;
      const max = Math.max(r, g, b);
      if (max >= VIVID_VALUE * 255 && max - Math.min(r, g, b) >= VIVID_SATURATION * max) continue;
      sum[t] = (sum[t] ?? 0) + 0.299 * r + 0.587 * g + 0.114 * b;
      muted[t] = (muted[t] ?? 0) + 1;
    }
  }
  return sum.map((v, t) => ((muted[t] ?? 0) * 2 >= (count[t] ?? 1) ? v / (muted[t] ?? 1) : Number.NaN));
}

/** Mean absolute difference of two backdrops after the best horizontal shift (a pan moves, a cut changes). */
function shiftedDifference(a: Float32Array, b: Float32Array): number {
  const side = 64;
  let best = Infinity;
  for (let dx = -6; dx <= 6; dx++) {
    let sum = 0;
    let n = 0;
    for (let y = 0; y < side; y++) {
      for (let x = Math.max(0, -dx); x < Math.min(side, side - dx); x++) {
        const d = Math.abs((a[y * side + x + dx] ?? 0) - (b[y * side + x] ?? 0));
        if (Number.isNaN(d)) continue;
        sum += d;
        n++;
      }
    }
    if (n > side * side * 0.25) best = Math.min(best, sum / n);
  }
  return best === Infinity ? 0 : best;
}

/** Radius of a disc with the blob's area, px. */
export const radius = (b: Blob) => Math.sqrt(b.area / Math.PI);

/** The one blob of each colour in a frame (colours with several blobs are ambiguous and left out). */
function single(blobs: readonly Blob[]): Map<Colour, Blob> {
  const out = new Map<Colour, Blob>();
  const many = new Set<Colour>();
  for (const b of blobs) {
    if (out.has(b.colour)) many.add(b.colour);
    out.set(b.colour, b);
  }
  for (const c of many) out.delete(c);
  return out;
}

/**
 * The camera changed between frames f−1 and f, judged from the things in view: all of them grew or
 * shrank by one factor (a zoom), or all of them changed velocity by one vector (the view jumped).
 * Nothing physical scales or shoves everything at once.
 */
function cameraChanged(blobs: readonly (readonly Blob[])[], f: number, size: number, useKicks: boolean): boolean {
  const [a, b, c] = [single(blobs[f - 2] ?? []), single(blobs[f - 1] ?? []), single(blobs[f] ?? [])];
  const ratios: number[] = [];
  const kicks: [number, number][] = [];
  for (const [colour, now] of c) {
    const before = b.get(colour);
    if (!before || before.area < 8 || now.area < 8) continue;
    // A thing cut off by the frame's edge shrinks without any zoom.
    const clipped = (b: Blob) => b.minX <= 1 || b.minY <= 1 || b.maxX >= size - 2 || b.maxY >= size - 2;
    if (clipped(before) || clipped(now)) continue;
    ratios.push(now.area / before.area);
    const earlier = a.get(colour);
    if (earlier) kicks.push([now.x - 2 * before.x + earlier.x, now.y - 2 * before.y + earlier.y]);
  }
  // Everything in view swapped for other things at once: a new view, not motion.
  const seenBefore = new Set((blobs[f - 1] ?? []).filter((x) => x.area >= 8).map((x) => x.colour));
  const seenNow = new Set((blobs[f] ?? []).filter((x) => x.area >= 8).map((x) => x.colour));
  if (seenBefore.size > 0 && seenNow.size > 0 && [...seenNow].every((c) => !seenBefore.has(c))) return true;
  // Of two or more things in view, none carries on where it was heading: the view changed.
  const before = (blobs[f - 1] ?? []).filter((x) => x.area >= 8);
  const earlier = blobs[f - 2] ?? [];
  if (new Set(before.map((x) => x.colour)).size >= 2) {
    const carriesOn = before.some((x) => {
      const prev = useKicks ? earlier.find((q) => q.colour === x.colour && Math.hypot(q.x - x.x, q.y - x.y) < 0.15 * size) : undefined;
      const [vx, vy] = prev ? [x.x - prev.x, x.y - prev.y] : [0, 0];
      // Where it was heading, or near where it was (a bounce or a throw changes the heading, not the place).
      return (blobs[f] ?? []).some(
        (y) => y.colour === x.colour && Math.min(Math.hypot(y.x - x.x - vx, y.y - x.y - vy), Math.hypot(y.x - x.x, y.y - x.y)) < 0.08 * size + radius(x) && y.area / x.area > 0.6 && y.area / x.area < 1.6,
      );
    });
    if (!carriesOn) return true;
  }
  const zoom = ratios.length >= 3 ? 1.25 : ratios.length === 2 ? 1.35 : 1.7;
  if (ratios.length > 0 && (ratios.every((r) => r > zoom) || ratios.every((r) => r < 1 / zoom))) return true;
  if (!useKicks || kicks.length < 2) return false;
  const mx = kicks.reduce((s, k) => s + k[0], 0) / kicks.length;
  const my = kicks.reduce((s, k) => s + k[1], 0) / kicks.length;
  const kick = Math.hypot(mx, my);
  // Everything shoved the same way at once; a bigger shove may differ by gravity's share between things.
  return kick > 0.06 * size && kicks.every(([x, y]) => Math.hypot(x - mx, y - my) < Math.max(0.015 * size, 0.2 * kick));
}

/** Cuts: frames that no small horizontal shift of the previous frame explains, or where the view itself changed. */
export function detectCuts(video: VideoInput, blobs: readonly (readonly Blob[])[]): number[] {
  const frameBytes = video.size * video.size * 3;
  const count = video.frames.length / frameBytes;
  const starts = [0];
  let previous = thumbnail(video.frames, 0, video.size);
  for (let f = 1; f < count; f++) {
    const current = thumbnail(video.frames, f * frameBytes, video.size);
    // The velocity-kick cue needs frames f−2 and f−1 in one shot.
    const afterCut = starts[starts.length - 1] === f - 1;
    if (shiftedDifference(previous, current) > CUT_DIFFERENCE || cameraChanged(blobs, f, video.size, !afterCut)) starts.push(f);
    previous = current;
  }
  return starts;
}

/** Links blobs of one colour across consecutive frames of a shot, nearest first. */
function linkTracks(blobs: readonly (readonly Blob[])[], shotStarts: readonly number[], size: number): Track[] {
  const tracks: Track[] = [];
  const gate = 0.3 * size;
  for (let s = 0; s < shotStarts.length; s++) {
    const from = shotStarts[s] ?? 0;
    const to = shotStarts[s + 1] ?? blobs.length;
    let open: Track[] = [];
    for (let f = from; f < to; f++) {
      const here = [...(blobs[f] ?? [])];
      const pairs: [number, Track, number][] = [];
      for (const track of open) {
        const last = track.points[track.points.length - 1] as TrackPoint;
        const gap = f - last.frame;
        // A thing hidden for a frame or two (tiny, or passing a thin occluder) is the same thing after.
        const previous = track.points[track.points.length - 2];
        const [vx, vy] = previous && last.frame - previous.frame === 1 ? [last.x - previous.x, last.y - previous.y] : [0, 0];
        here.forEach((b, i) => {
          if (b.colour !== track.colour) return;
          const d = Math.hypot(b.x - (last.x + vx * (gap - 1)), b.y - (last.y + vy * (gap - 1)));
          // Across a gap only a blob close to where the thing was heading is the same thing.
          if (d < (gap === 1 ? gate : 0.1 * size)) pairs.push([d + (gap - 1) * gate, track, i]);
        });
      }
      pairs.sort((a, b) => a[0] - b[0]);
      const usedTracks = new Set<Track>();
      const usedBlobs = new Set<number>();
      for (const [, track, i] of pairs) {
        if (usedTracks.has(track) || usedBlobs.has(i)) continue;
        usedTracks.add(track);
        usedBlobs.add(i);
        track.points.push({ ...(here[i] as Blob), frame: f });
      }
      here.forEach((b, i) => {
        if (usedBlobs.has(i)) return;
        const track: Track = { colour: b.colour, shot: s, points: [{ ...b, frame: f }] };
        tracks.push(track);
        open.push(track);
      });
      open = open.filter((t) => f - (t.points[t.points.length - 1] as TrackPoint).frame < 3);
    }
  }
  return tracks;
}

export function analyzeVideo(video: VideoInput): VideoAnalysis {
  const { size } = video;
  const pixels = size * size;
  if (!Number.isInteger(size) || size < 16) throw new RangeError(`video size must be an integer ≥ 16 (got ${size})`);
  if (video.frames.length % (pixels * 3) !== 0) throw new RangeError(`video frames must hold whole ${size}×${size} RGB frames (${video.frames.length} bytes)`);
  const frameCount = video.frames.length / (pixels * 3);
  const minArea = Math.max(3, Math.round(pixels * 0.00018));
  const blobs = Array.from({ length: frameCount }, (_, f) => findBlobs(classifyPixels(video.frames, f * pixels * 3, pixels), size, minArea));
  const shotStarts = detectCuts(video, blobs);
  return { frameCount, size, fps: video.fps, shotStarts, blobs, tracks: linkTracks(blobs, shotStarts, size) };
}
