import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../contracts/index.ts';
import { classifyPixels } from '../../model-shards/world/bench/video-analysis.ts';
import { APPEARANCE_SIDE, appearanceRgb, randomAppearance, type Appearance } from '../../model-shards/world/cameo.ts';
import { runCli, type CliIo } from '../../model-shards/world/cli.ts';
import { makeClip } from '../../model-shards/world/clip.ts';
import { clipMeta, exportDataset, parseNpyHeader, type ClipMeta, type DatasetIndex, type ExportOptions } from '../../model-shards/world/dataset.ts';
import { describeScene } from '../../model-shards/world/prompts.ts';
import { createRenderer } from '../../model-shards/world/render.ts';
import { SeededRandom } from '../../model-shards/world/rng.ts';
import { sampleScene } from '../../model-shards/world/sample.ts';
import { parseScene, type Scene } from '../../model-shards/world/scene.ts';
import { CHARACTER, simulate } from '../../model-shards/world/simulate.ts';

/**
 * Cameos in the world: random faces as a user's reference image, scenes whose figure wears one
 * (and plain scenes left exactly as they were), and the export's appearance layer.
 */

const face = (seed: number, side?: number): Appearance => randomAppearance(new SeededRandom(seed, 7), side);
const meanRgb = (rgb: Uint8Array): [number, number, number] => {
  const sum = [0, 0, 0];
  for (let i = 0; i < rgb.length; i++) sum[i % 3] = (sum[i % 3] ?? 0) + (rgb[i] ?? 0);
  const n = rgb.length / 3;
  return [(sum[0] ?? 0) / n, (sum[1] ?? 0) / n, (sum[2] ?? 0) / n];
};
const withoutFace = (scene: Scene): Scene => {
  if (!scene.character) return scene;
  const { appearance: _, ...character } = scene.character;
  return { ...scene, character };
};

describe('random faces', () => {
  it('are opaque 16 × 16 RGBA, the same for the same stream, and appearanceRgb drops the alpha', () => {
    const a = face(1);
    expect(a).toEqual(face(1));
    expect([a.width, a.height]).toEqual([APPEARANCE_SIDE, APPEARANCE_SIDE]);
    const rgba = Buffer.from(a.rgbaBase64, 'base64');
    expect(rgba.length).toBe(16 * 16 * 4);
    for (let p = 3; p < rgba.length; p += 4) expect(rgba[p]).toBe(255);
    const rgb = appearanceRgb(a);
    expect(rgb.length).toBe(16 * 16 * 3);
    for (let p = 0; p < 256; p++) expect([...rgb.subarray(p * 3, p * 3 + 3)]).toEqual([...rgba.subarray(p * 4, p * 4 + 3)]);
    // Another stream of the same seed is another face.
    expect(randomAppearance(new SeededRandom(1, 8)).rgbaBase64).not.toBe(a.rgbaBase64);

    const big = face(1, 32);
    expect([big.width, big.height, Buffer.from(big.rgbaBase64, 'base64').length]).toEqual([32, 32, 32 * 32 * 4]);
    expect(() => face(1, 2)).toThrow(ValidationError);
    expect(() => face(1, 2)).toThrow('side must be an integer 4–256 (got 2)');
    const translucent = { width: 1, height: 1, rgbaBase64: Buffer.from([200, 100, 50, 128]).toString('base64') };
    expect([...appearanceRgb(translucent)]).toEqual([100, 50, 25]);
    expect(() => appearanceRgb({ ...translucent, width: 2 })).toThrow('appearance.rgbaBase64 must hold width × height × 4 RGBA bytes (8), not 4');
  });

  it('differ from seed to seed in their colour layout, not just in a few pixels', () => {
    const faces = Array.from({ length: 30 }, (_, seed) => appearanceRgb(face(seed)));
    const distances: number[] = [];
    for (let i = 0; i < faces.length; i++) {
      for (let j = i + 1; j < faces.length; j++) {
        const [a, b] = [faces[i] ?? new Uint8Array(), faces[j] ?? new Uint8Array()];
        let d = 0;
        for (let k = 0; k < a.length; k++) d += Math.abs((a[k] ?? 0) - (b[k] ?? 0));
        // Mean absolute difference per channel: ~70 for a typical pair, ~18 for the closest of 60.
        expect(d / a.length, `faces ${i} and ${j}`).toBeGreaterThan(10);
        const [ma, mb] = [meanRgb(a), meanRgb(b)];
        distances.push(Math.hypot(ma[0] - mb[0], ma[1] - mb[1], ma[2] - mb[2]));
      }
    }
    distances.sort((x, y) => x - y);
    // Whole-image mean colours (what a ~7 px head keeps) are far apart for most pairs.
    expect(distances[distances.length >> 1]).toBeGreaterThan(40);
  });
});

describe('cameo scenes', () => {
  it('leave scenes sampled without the option exactly as before cameos existed', () => {
    // sha256 of the scenes' JSON, one per line, computed on the sampler before cameos were added.
    const hash = (seeds: number, options = {}) =>
      createHash('sha256')
        .update(Array.from({ length: seeds }, (_, s) => JSON.stringify(sampleScene(s, options))).join('\n'))
        .digest('hex');
    expect(hash(200)).toBe('288350b4944217225c8eee0982c0e05047cb0e758baa518faa16ce8adc7f4c5c');
    expect(hash(200, { durationS: 1, fps: 8 })).toBe('9cea22f7d249a9c3adefc2b32188679300cd3e24b3603e14ad5b0a4c46f9fc28');
    expect(hash(200, { cameo: false })).toBe('288350b4944217225c8eee0982c0e05047cb0e758baa518faa16ce8adc7f4c5c');
  });

  it('always have a figure with a face, keep the dropped ball-1, and name the person as a plain scene does', () => {
    let full = 0;
    let sameAsPlain = 0;
    for (let seed = 0; seed < 300; seed++) {
      const plain = sampleScene(seed);
      const cameo = sampleScene(seed, { cameo: true });
      expect(parseScene(cameo)).toEqual(cameo);
      const character = cameo.character;
      expect(character?.appearance, `seed ${seed}`).toBeDefined();
      expect(cameo.objects.some((o) => o.id === character?.objectId)).toBe(true);
      const ball1 = plain.objects.find((o) => o.id === 'ball-1');
      expect(cameo.objects.find((o) => o.id === 'ball-1'), `seed ${seed} keeps its dropped ball`).toEqual(ball1);
      expect(cameo.objects.map((o) => o.id)).toEqual(cameo.objects.map((_, i) => `ball-${i + 1}`));
      if (plain.objects.length === 4 && !plain.character) {
        full++;
        // Full before the figure came (two extra balls and the ramp's): the last extra ball made
        // room, the ramp's ball stays (one id lower).
        expect(cameo.objects.slice(0, 2)).toEqual(plain.objects.slice(0, 2));
        expect({ ...cameo.objects[2], id: 'ball-4' }).toEqual(plain.objects[3]);
      }
      // A scene that had a figure already is the same scene, with a face on it.
      if (plain.character) {
        expect(withoutFace(cameo)).toEqual(plain);
        sameAsPlain++;
      }
      // The face is not put into words: the prompt is that of the scene without it.
      expect(describeScene(cameo, seed)).toBe(describeScene(withoutFace(cameo), seed));
    }
    expect(full).toBeGreaterThanOrEqual(3);
    expect(sameAsPlain).toBeGreaterThan(50);
    const faces = new Set(Array.from({ length: 20 }, (_, s) => sampleScene(s, { cameo: true }).character?.appearance?.rgbaBase64));
    expect(faces.size).toBe(20);
  });

  it('render the face on the head, muted, and nothing else differs', async () => {
    // A sunset's warm tint is the hardest on saturation: the face must still not read as an object.
    const scene = parseScene({ ...sampleScene(3, { cameo: true, durationS: 1, fps: 8 }), lighting: { timeOfDay: 'sunset', azimuthDeg: 0, colourTempK: 2900 } });
    const trace = await simulate(scene);
    const size = 128;
    const withFace = createRenderer(trace, size, { omitBalls: true });
    const plain = createRenderer(await simulate(withoutFace(scene)), size, { omitBalls: true });
    const view = withFace.views[0];
    const c = trace.frames[0]?.character;
    if (!view || !c) throw new Error('the scene has no figure or no view');
    const ppm = size / view.width;
    const hx = (c.x - (view.cx - view.width / 2)) * ppm;
    const hy = (view.cy + view.width / 2 - CHARACTER.headY) * ppm;
    const hr = CHARACTER.headRadius * ppm;
    const [a, b] = [withFace.frame(0), plain.frame(0)];
    const vivid = classifyPixels(a, 0, size * size);
    let inside = 0;
    for (let p = 0; p < size * size; p++) {
      const changed = a[p * 3] !== b[p * 3] || a[p * 3 + 1] !== b[p * 3 + 1] || a[p * 3 + 2] !== b[p * 3 + 2];
      const d = Math.hypot((p % size) + 0.5 - hx, Math.floor(p / size) + 0.5 - hy);
      if (changed) {
        expect(d, `pixel ${p} changed outside the head`).toBeLessThan(hr + 1.5);
        inside++;
      }
      if (d < hr + 1.5) expect(vivid[p], `head pixel ${p} reads as a vivid object`).toBe(-1);
    }
    // Most of the ~30 px of the head show the face rather than the default one.
    expect(inside).toBeGreaterThan(Math.PI * hr * hr * 0.5);
  });
});

describe('the head track in a clip’s meta', () => {
  it('names where the face is painted in every frame, as the camera moves, and is absent without a figure', async () => {
    const size = 96;
    let moving = 0;
    for (let seed = 0; seed < 6; seed++) {
      const scene = sampleScene(seed, { cameo: true, durationS: 1, fps: 8 });
      const [a, b] = await Promise.all([makeClip(scene, { size }), makeClip(withoutFace(scene), { size })]);
      const head = clipMeta(a, 0).head;
      if (!head) throw new Error(`seed ${seed}: a figure's clip has no head track`);
      expect(head).toHaveLength(8);
      expect(clipMeta(b, 0).head).toEqual(head);
      head.forEach((h, f) => {
        let changed = 0;
        for (let p = 0; p < size * size; p++) {
          const i = f * size * size * 3 + p * 3;
          if (a.frames[i] === b.frames[i] && a.frames[i + 1] === b.frames[i + 1] && a.frames[i + 2] === b.frames[i + 2]) continue;
          const d = Math.hypot((p % size) + 0.5 - h.px, Math.floor(p / size) + 0.5 - h.py);
          expect(d, `seed ${seed} frame ${f}: pixel ${p} changed outside the head track's disc`).toBeLessThan(h.radiusPx + 1.5);
          changed++;
        }
        // A head well inside the frame shows its face on most of its pixels; one outside shows none.
        const inside = h.px - h.radiusPx > 0 && h.px + h.radiusPx < size && h.py - h.radiusPx > 0 && h.py + h.radiusPx < size;
        if (inside) expect(changed, `seed ${seed} frame ${f}`).toBeGreaterThan(Math.PI * h.radiusPx ** 2 * 0.4);
        if (!h.visible) expect(changed).toBe(0);
      });
      const xs = head.map((h) => h.px);
      if (Math.max(...xs) - Math.min(...xs) > 1) moving++;
    }
    // Some of these shots pan or cut, so the track is per frame, not one point per clip.
    expect(moving).toBeGreaterThan(0);

    const plain = parseScene({ ...sampleScene(3, { durationS: 1, fps: 8 }), character: undefined });
    expect(clipMeta(await makeClip(plain, { size: 32 }), 0)).not.toHaveProperty('head');
  });

  it('gives the light the face is lit by: its pixels are the white-lit face times the meta’s light', async () => {
    const size = 128;
    const scene = sampleScene(3, { cameo: true, durationS: 1, fps: 8 });
    // Noon at 6500 K multiplies by exactly 1: the face as drawn, before the light.
    const white = await makeClip(parseScene({ ...scene, lighting: { timeOfDay: 'noon', azimuthDeg: 0, colourTempK: 6500 } }), { size });
    expect(clipMeta(white, 0).light).toEqual([1, 1, 1]);
    const lights = new Set<string>();
    for (const lighting of [
      { timeOfDay: 'night', azimuthDeg: 0, colourTempK: 4000 },
      { timeOfDay: 'sunset', azimuthDeg: 0, colourTempK: 2900 },
      { timeOfDay: 'morning', azimuthDeg: 0, colourTempK: 9000 },
    ] as const) {
      const clip = await makeClip(parseScene({ ...scene, lighting }), { size });
      const meta = clipMeta(clip, 0);
      if (!meta.head) throw new Error('the scene has no figure');
      lights.add(meta.light.join());
      let checked = 0;
      meta.head.forEach((head, f) => {
        for (let p = 0; p < size * size; p++) {
          if (Math.hypot((p % size) + 0.5 - head.px, Math.floor(p / size) + 0.5 - head.py) > head.radiusPx - 1) continue;
          for (let ch = 0; ch < 3; ch++) {
            const i = f * size * size * 3 + p * 3 + ch;
            const lit = (white.frames[i] ?? 0) * (meta.light[ch] ?? 0);
            expect(Math.abs((clip.frames[i] ?? 0) - lit), `${lighting.timeOfDay}: frame ${f} pixel ${p} channel ${ch}`).toBeLessThanOrEqual(1.5);
          }
          checked++;
        }
      });
      expect(checked).toBeGreaterThan(40);
      expect(Math.max(...meta.light)).toBeLessThan(1);
    }
    expect(lights.size).toBe(3);
  });
});

describe('cameo export', () => {
  let root = '';
  const base = (out: string, workers: number): ExportOptions => ({ out, clips: 3, seed: 40, shardSize: 2, workers, size: 32, durationS: 1, fps: 8, sampleRate: 16_000 });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'zoetrope-cameo-test-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes each clip’s face to the appearance layer, listed and hashed in the index', async () => {
    const dir = join(root, 'cameos');
    const index = await exportDataset({ ...base(dir, 1), cameos: true, background: true });
    expect(index.layers).toEqual(['background', 'appearance']);
    expect(index.shards[0]?.files.map((f) => f.file)).toEqual([
      'shard-00000.frames.npy',
      'shard-00000.background.npy',
      'shard-00000.appearance.npy',
      'shard-00000.audio.npy',
      'shard-00000.meta.jsonl',
    ]);
    const names = (await readdir(dir)).sort();
    expect(names).toEqual(['index.json', ...index.shards.flatMap((s) => s.files.map((f) => f.file))].sort());
    expect(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as DatasetIndex).toEqual(index);

    let clips = 0;
    for (const shard of index.shards) {
      for (const f of shard.files) {
        const data = await readFile(join(dir, f.file));
        expect(data.length, f.file).toBe(f.bytes);
        expect(createHash('sha256').update(data).digest('hex'), f.file).toBe(f.sha256);
      }
      const layer = await readFile(join(dir, `${shard.name}.appearance.npy`));
      const header = parseNpyHeader(layer);
      expect(header).toMatchObject({ descr: '|u1', fortranOrder: false, shape: [shard.clips, 16, 16, 3] });
      expect(header.dataOffset % 64).toBe(0);
      expect(layer.length - header.dataOffset).toBe(shard.clips * 16 * 16 * 3);
      const metas = (await readFile(join(dir, `${shard.name}.meta.jsonl`), 'utf8'))
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as ClipMeta);
      metas.forEach((meta, j) => {
        // The meta line carries the scene, face included; the layer holds that face's pixels.
        const appearance = meta.scene.character?.appearance;
        if (!appearance) throw new Error(`clip ${meta.index} has no face in its meta line`);
        expect(meta.scene).toEqual(sampleScene(meta.seed, { durationS: 1, fps: 8, cameo: true }));
        const start = header.dataOffset + j * 16 * 16 * 3;
        expect(Buffer.from(layer.subarray(start, start + 16 * 16 * 3)).equals(Buffer.from(appearanceRgb(appearance)))).toBe(true);
        clips++;
      });
    }
    expect(clips).toBe(3);

    // A plain export over it removes the layer along with the rest of the previous dataset.
    const plain = await exportDataset({ ...base(dir, 0), clips: 1 });
    expect(plain.layers).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['index.json', 'shard-00000.audio.npy', 'shard-00000.frames.npy', 'shard-00000.meta.jsonl']);
  });

  it('refuses a cameos value that is not a boolean, naming it, on the command line too', async () => {
    const dir = join(root, 'never');
    await expect(exportDataset({ ...base(dir, 0), cameos: 'yes' as unknown as boolean })).rejects.toThrow('cameos must be true or false (got yes)');
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);

    let stdout = '';
    let stderr = '';
    const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), stderrIsTTY: false };
    expect(await runCli(['export', '--clips', '1', '--seed', '1', '--out', dir, '--cameos=yes'], io)).toBe(2);
    expect(stderr).toContain('--cameos takes no value');
    expect(await runCli(['--help'], io)).toBe(0);
    expect(stdout).toContain('--cameos');
    stdout = '';
    expect(await runCli(['sample', '--seed', '7', '--cameos'], io)).toBe(0);
    expect((JSON.parse(stdout) as { scene: Scene }).scene).toEqual(sampleScene(7, { cameo: true }));
  });
});
