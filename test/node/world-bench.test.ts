import { beforeAll, describe, expect, it } from 'vitest';
import { detectOnsetEvents, detectOnsets } from '../../model-shards/world/bench/audio-onsets.ts';
import { calibrate, type CalibrationReport } from '../../model-shards/world/bench/calibrate.ts';
import { judgeClip } from '../../model-shards/world/bench/judge.ts';
import { settingPrototypes } from '../../model-shards/world/bench/prototypes.ts';
import { boxesInColumn, classifyPixels, detectCuts, findBlobs } from '../../model-shards/world/bench/video-analysis.ts';
import { makeClip } from '../../model-shards/world/clip.ts';
import { OBJECT_RGB } from '../../model-shards/world/palette.ts';
import { parsePrompt } from '../../model-shards/world/prompts.ts';
import { sampleScene } from '../../model-shards/world/sample.ts';
import { gaussianNoise } from '../../contracts/index.ts';

/** A size×size RGB frame of one grey with the given filled squares and discs. */
function frame(size: number, grey: number, shapes: { kind: 'disc' | 'square'; x: number; y: number; r: number; rgb: readonly number[] }[]): Uint8Array {
  const out = new Uint8Array(size * size * 3).fill(grey);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (const s of shapes) {
        const inside = s.kind === 'disc' ? Math.hypot(x + 0.5 - s.x, y + 0.5 - s.y) <= s.r : Math.abs(x + 0.5 - s.x) <= s.r && Math.abs(y + 0.5 - s.y) <= s.r;
        if (inside) out.set(s.rgb, (y * size + x) * 3);
      }
    }
  }
  return out;
}

describe('physics bench: pixels and sound', () => {
  it('finds vivid blobs by palette colour and tells discs from upright squares by their corners', () => {
    const size = 64;
    const rgb = frame(size, 150, [
      { kind: 'disc', x: 16, y: 16, r: 6, rgb: OBJECT_RGB.red },
      { kind: 'square', x: 44, y: 40, r: 6, rgb: OBJECT_RGB.blue },
    ]);
    const blobs = findBlobs(classifyPixels(rgb, 0, size * size), size, 3);
    expect(blobs.map((b) => b.colour).sort()).toEqual(['blue', 'red']);
    const red = blobs.find((b) => b.colour === 'red')!;
    const blue = blobs.find((b) => b.colour === 'blue')!;
    expect(red.x).toBeCloseTo(16, 0);
    expect(red.corners).toBe(0);
    expect(blue.corners).toBe(1);
  });

  it('ignores muted colours, however bright', () => {
    const size = 32;
    const rgb = frame(size, 200, [{ kind: 'disc', x: 16, y: 16, r: 8, rgb: [184, 166, 138] }]);
    expect(findBlobs(classifyPixels(rgb, 0, size * size), size, 3)).toEqual([]);
  });

  it('finds a cut where the view changes, not where a thing moves', () => {
    const size = 64;
    const shots = [
      frame(size, 120, [{ kind: 'disc', x: 20, y: 20, r: 4, rgb: OBJECT_RGB.green }]),
      frame(size, 120, [{ kind: 'disc', x: 24, y: 26, r: 4, rgb: OBJECT_RGB.green }]),
      frame(size, 40, [{ kind: 'disc', x: 30, y: 40, r: 10, rgb: OBJECT_RGB.green }]),
    ];
    const frames = new Uint8Array(shots.length * size * size * 3);
    shots.forEach((f, i) => frames.set(f, i * f.length));
    const blobs = shots.map((f) => findBlobs(classifyPixels(f, 0, size * size), size, 3));
    expect(detectCuts({ frames, size, fps: 12 }, blobs)).toEqual([0, 2]);
  });

  it('counts the boxes of a column standing or leaning, from its length over its width', () => {
    const size = 96;
    const side = 8;
    for (const n of [1, 2, 3, 4]) {
      for (const tilt of [0, 0.5]) {
        // n boxes of side 8 px with a 1 px muted seam between them, the column turned by `tilt` rad.
        const rgb = new Uint8Array(size * size * 3).fill(140);
        const [c, s] = [Math.cos(tilt), Math.sin(tilt)];
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const [dx, dy] = [x + 0.5 - 48, y + 0.5 - 80];
            const across = c * dx + s * dy;
            const up = -(-s * dx + c * dy);
            const inBox = Math.abs(across) <= side / 2 && up >= 0 && up <= n * side && up % side >= 1;
            if (inBox) rgb.set(OBJECT_RGB.orange, (y * size + x) * 3);
          }
        }
        const blobs = findBlobs(classifyPixels(rgb, 0, size * size), size, 3);
        expect(blobs, `${n} boxes, tilt ${tilt}`).toHaveLength(1);
        expect(boxesInColumn(blobs[0]!), `${n} boxes, tilt ${tilt}`).toBe(n);
      }
    }
  });

  it('gives an onset the strength of its attack, even when a faint tick opens it', () => {
    const rate = 24_000;
    const pcm = Float32Array.from(gaussianNoise(3, 0, rate), (v) => v * 0.002);
    const start = Math.round(0.5 * rate);
    for (let i = 0; i < 200; i++) pcm[start + i] = (pcm[start + i] ?? 0) + 0.03 * Math.sin(i * 0.9) * Math.exp(-i / 80);
    const knock = start + Math.round(0.012 * rate);
    for (let i = 0; i < 2000; i++) pcm[knock + i] = (pcm[knock + i] ?? 0) + 0.8 * Math.sin((2 * Math.PI * 180 * i) / rate) * Math.exp(-i / 600);
    const onsets = detectOnsetEvents(pcm, rate);
    expect(onsets).toHaveLength(1);
    expect(onsets[0]!.t).toBeCloseTo(0.5, 2);
    expect(onsets[0]!.strength).toBeGreaterThan(0.5);
  });

  it('hears an impact at its sample and nothing in stationary noise', () => {
    const rate = 16_000;
    const noise = gaussianNoise(9, 0, rate);
    const pcm = Float32Array.from(noise, (v) => v * 0.01);
    expect(detectOnsets(pcm, rate)).toEqual([]);
    for (const at of [0.25, 0.61]) {
      const start = Math.round(at * rate);
      for (let i = 0; i < 800; i++) pcm[start + i] = (pcm[start + i] ?? 0) + 0.5 * Math.exp(-i / 120) * Math.sin((2 * Math.PI * 300 * i) / rate) + 0.2 * (noise[i] ?? 0) * Math.exp(-i / 40);
    }
    const onsets = detectOnsets(pcm, rate);
    expect(onsets).toHaveLength(2);
    expect(Math.abs((onsets[0] ?? 0) - 0.25)).toBeLessThan(0.005);
    expect(Math.abs((onsets[1] ?? 0) - 0.61)).toBeLessThan(0.005);
  });

  it('names what it judged and why, and reports what it measured', async () => {
    const clip = await makeClip(sampleScene(5000));
    const prompt = clip.prompt.replace(/\b(gym|gymnasium|park|garage|workshop|street court|blacktop)\b/i, 'zeppelin');
    const verdict = judgeClip(
      { video: { frames: clip.frames, size: clip.size, fps: clip.fps }, audio: { pcm: clip.audio, sampleRate: clip.sampleRate }, facts: parsePrompt(prompt).facts },
      await settingPrototypes(clip.size),
    );
    expect(Object.keys(verdict).sort()).toEqual(['adherence', 'measured', 'physics', 'sync']);
    expect(verdict.measured.shots).toBeGreaterThanOrEqual(1);
    expect(verdict.measured.audioOnsets).toBeGreaterThan(0);
    for (const axis of ['adherence', 'physics', 'sync'] as const) expect(verdict[axis].pass).toBe(verdict[axis].reasons.length === 0);
  });
});

describe('physics bench calibration (small sample; the full table is in model-shards/world/BENCH.md)', () => {
  let report: CalibrationReport;
  beforeAll(async () => {
    report = await calibrate(16, 7000);
  }, 120_000);

  const row = (kind: string) => {
    const r = report.rows.find((x) => x.kind === kind);
    if (!r) throw new Error(`no ${kind} row`);
    return r;
  };

  // The spec (≥ 95%) is measured on 300 held-out clips in BENCH.md; 16 clips can't resolve it, so this
  // sample is held to 80–85%, which a judge that stopped working on any axis or break would miss.
  it('passes clips straight from the simulator', () => {
    const clean = row('clean');
    for (const axis of ['adherence', 'physics', 'sync'] as const) expect(clean.passRate[axis], axis).toBeGreaterThanOrEqual(0.8);
  });

  it('fails each kind of broken clip on its axis', () => {
    for (const r of report.rows) {
      if (r.target === null) continue;
      expect(1 - r.passRate[r.target], `${r.kind} must fail ${r.target}`).toBeGreaterThanOrEqual(0.85);
    }
  });
});

describe('judging a dataset folder', () => {
  it('judges every exported clip, writing per-clip verdicts and the aggregate', async () => {
    const { mkdtemp, readFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { exportDataset } = await import('../../model-shards/world/dataset.ts');
    const { judgeDataset } = await import('../../model-shards/world/bench/judge-dataset.ts');
    const dir = await mkdtemp(join(tmpdir(), 'zoetrope-judge-'));
    try {
      await exportDataset({ out: dir, clips: 3, seed: 5000, size: 128, durationS: 2, fps: 12, sampleRate: 16_000, shardSize: 2, workers: 0 });
      const judgement = await judgeDataset(dir);
      expect(judgement.clips).toBe(3);
      type Line = { index: number; prompt: string } & Record<'adherence' | 'physics' | 'sync', { pass: boolean; reasons: string[] }>;
      const lines = (await readFile(join(dir, 'judgement.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Line);
      // The aggregate is the per-clip verdicts, counted.
      for (const axis of ['adherence', 'physics', 'sync'] as const) expect(judgement.passRate[axis]).toBeCloseTo(lines.filter((l) => l[axis].pass).length / 3, 10);
      expect(lines.map((l) => l.index)).toEqual([0, 1, 2]);
      for (const l of lines) expect(l.physics.pass).toBe(l.physics.reasons.length === 0);
      expect(JSON.parse(await readFile(join(dir, 'judgement.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(judgement)));
      // The same clips judged straight from memory give the same verdicts.
      const clip = await makeClip(sampleScene(5001));
      const direct = judgeClip({ video: { frames: clip.frames, size: clip.size, fps: clip.fps }, audio: { pcm: clip.audio, sampleRate: clip.sampleRate }, facts: parsePrompt(clip.prompt).facts }, await settingPrototypes(128));
      expect(lines[1]?.physics.pass).toBe(direct.physics.pass);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names a folder that is not a dataset', async () => {
    const { judgeDataset } = await import('../../model-shards/world/bench/judge-dataset.ts');
    await expect(judgeDataset('/nonexistent/zoetrope-dataset')).rejects.toThrow(/dataset has no readable index.json/);
  });
});
