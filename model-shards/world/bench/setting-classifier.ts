import type { VideoAnalysis, VideoInput } from './video-analysis.ts';
import type { Setting } from '../scene.ts';

/**
 * Which setting a video shows, from the muted colours of its backdrop (upper band) and floor
 * (lowest band) in the first shot, by the nearest of a set of prototypes rendered by the world
 * itself under every time of day and a range of colour temperatures.
 */
export interface SettingPrototype {
  readonly setting: Setting;
  readonly features: readonly number[];
}

export function settingFeatures(video: VideoInput, analysis: Pick<VideoAnalysis, 'shotStarts' | 'frameCount'>): number[] {
  const { size, frames } = video;
  const end = analysis.shotStarts[1] ?? analysis.frameCount;
  const bands = [
    [0, Math.round(size * 0.35)],
    [Math.round(size * 0.95), size],
  ] as const;
  const sums = bands.map(() => [0, 0, 0, 0]);
  for (let f = 0; f < end; f++) {
    const base = f * size * size * 3;
    bands.forEach(([from, to], b) => {
      const s = sums[b] as number[];
      for (let y = from; y < to; y++) {
        for (let x = 0; x < size; x++) {
          const i = base + (y * size + x) * 3;
          const r = frames[i] ?? 0;
          const g = frames[i + 1] ?? 0;
          const bl = frames[i + 2] ?? 0;
          const max = Math.max(r, g, bl);
          if (max > 64 && max - Math.min(r, g, bl) > 0.5 * max) continue; // vivid: an object, not the set
          s[0] = (s[0] ?? 0) + r;
          s[1] = (s[1] ?? 0) + g;
          s[2] = (s[2] ?? 0) + bl;
          s[3] = (s[3] ?? 0) + 1;
        }
      }
    });
  }
  const features: number[] = [];
  const levels: number[] = [];
  for (const [r = 0, g = 0, b = 0, n = 1] of sums) {
    const total = r + g + b + 1e-6;
    features.push((3 * r) / total, (3 * g) / total);
    levels.push(total / (3 * Math.max(1, n)));
  }
  features.push(Math.log((levels[0] ?? 1) / Math.max(1, levels[1] ?? 1)));
  return features;
}

export function classifySetting(features: readonly number[], prototypes: readonly SettingPrototype[]): { setting: Setting; distance: number } {
  let best: { setting: Setting; distance: number } | undefined;
  for (const p of prototypes) {
    const d = Math.hypot(...features.map((v, i) => v - (p.features[i] ?? 0)));
    if (!best || d < best.distance) best = { setting: p.setting, distance: d };
  }
  if (!best) throw new RangeError('the setting classifier has no prototypes');
  return best;
}
