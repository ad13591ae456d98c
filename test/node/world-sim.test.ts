import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '../../contracts/index.ts';
import { toInt16 } from '../../model-shards/world/audio.ts';
import { runCli, type CliIo } from '../../model-shards/world/cli.ts';
import { makeClip } from '../../model-shards/world/clip.ts';
import { createRenderer } from '../../model-shards/world/render.ts';
import { exportDataset, parseNpyHeader, type ClipMeta, type DatasetIndex, type ExportOptions } from '../../model-shards/world/dataset.ts';
import { FLOORS, MATERIAL_SPECS } from '../../model-shards/world/materials.ts';
import { sampleScene } from '../../model-shards/world/sample.ts';
import { GRAVITY, parseScene, type Material, type Scene, type Setting } from '../../model-shards/world/scene.ts';
import { simulate } from '../../model-shards/world/simulate.ts';
import type { FramePose } from '../../model-shards/world/trace.ts';

/**
 * The world as a data source: clips are deterministic, the simulator obeys energy and restitution,
 * and the dataset export writes what its index promises, the same bytes with one worker or two.
 */

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('determinism', () => {
  it('renders the same scene to the same frame and audio bytes, and different seeds differently', async () => {
    const scene = sampleScene(11, { durationS: 1, fps: 8 });
    const a = await makeClip(scene, { size: 48 });
    const b = await makeClip(sampleScene(11, { durationS: 1, fps: 8 }), { size: 48 });
    expect(bytesOf(a.frames).equals(bytesOf(b.frames))).toBe(true);
    expect(bytesOf(a.audio).equals(bytesOf(b.audio))).toBe(true);
    expect(a.prompt).toBe(b.prompt);

    const c = await makeClip(sampleScene(12, { durationS: 1, fps: 8 }), { size: 48 });
    expect(bytesOf(a.frames).equals(bytesOf(c.frames))).toBe(false);
    expect(bytesOf(a.audio).equals(bytesOf(c.audio))).toBe(false);
  });

  it('renders a background layer without the balls, and only the balls differ', async () => {
    const scene = sampleScene(100_000, { durationS: 1, fps: 12 });
    const trace = await simulate(scene);
    const full = createRenderer(trace, 128);
    const background = createRenderer(trace, 128, { omitBalls: true });
    const tracked = trace.frames[6]!.bodies.filter((b) => MATERIAL_SPECS[b.material].shape === 'ball');
    expect(tracked.length).toBeGreaterThan(0);
    const [f, g] = [full.frame(6), background.frame(6)];
    const changed: number[] = [];
    for (let p = 0; p < 128 * 128; p++) if (f[p * 3] !== g[p * 3] || f[p * 3 + 1] !== g[p * 3 + 1] || f[p * 3 + 2] !== g[p * 3 + 2]) changed.push(p);
    // Something changed, but only a little of the picture: a few small balls and their shadows.
    expect(changed.length).toBeGreaterThan(10);
    expect(changed.length).toBeLessThan(128 * 128 * 0.05);
    // The row above the highest ball is untouched (shadows fall below on the floor).
    const view = full.views[6]!;
    const ppm = 128 / view.width;
    const topOfBalls = Math.min(...tracked.map((b) => (view.cy + view.width / 2 - b.y - MATERIAL_SPECS[b.material].size) * ppm));
    expect(changed.every((p) => Math.floor(p / 128) >= Math.floor(topOfBalls) - 1)).toBe(true);
  });
});

describe('physical sanity of the simulator', () => {
  /**
   * Translational kinetic plus potential energy. Rotation is left out: the trace records no angular
   * velocity, and differencing angles across a bounce (where spin flips within a frame) misreads it
   * by more than it weighs. A dropped ball with no spin never rotates, so there this is the whole
   * energy. (Had it been included, Rapier's 2D ball is a disk, I = ½ m r², not a sphere's 2/5.)
   */
  const energy = (pose: FramePose, g: number) =>
    pose.bodies.reduce((e, b) => {
      const m = MATERIAL_SPECS[b.material].massKg;
      return e + 0.5 * m * (b.vx ** 2 + b.vy ** 2) + m * g * b.y;
    }, 0);

  /** Largest rise of energy from one frame to the next, and above the start, as shares of the start. */
  function energyGrowth(frames: readonly FramePose[], g: number): { step: number; overall: number } {
    const e = frames.map((f) => energy(f, g));
    const e0 = e[0] ?? 0;
    let step = 0;
    let overall = 0;
    for (let i = 1; i < e.length; i++) {
      step = Math.max(step, ((e[i] ?? 0) - (e[i - 1] ?? 0)) / e0);
      overall = Math.max(overall, ((e[i] ?? 0) - e0) / e0);
    }
    return { step, overall };
  }

  function drop(material: Material, setting: Setting): Scene {
    return parseScene({
      version: 1,
      seed: 1,
      durationS: 4,
      // 60 fps samples each apex within 1/120 s: at most ½·g·(1/120)² ≈ 0.3 mm low.
      fps: 60,
      setting,
      lighting: { timeOfDay: 'noon', azimuthDeg: 0, colourTempK: 5500 },
      objects: [{ id: 'ball', material, colour: 'red', x: 0, y: 3 }],
      shots: [{ durationS: 4, framing: 'wide', motion: 'static' }],
    });
  }

  const cases: [Material, Setting][] = [
    ['rubber ball', 'gym'],
    ['basketball', 'park'],
    ['tennis ball', 'street court'],
  ];
  it.each(cases)('a dropped %s in the %s loses energy and bounces to restitution² of each height', async (material, setting) => {
    const trace = await simulate(drop(material, setting));
    const growth = energyGrowth(trace.frames, GRAVITY);
    expect(growth.step).toBeLessThan(1e-4);
    expect(growth.overall).toBeLessThan(1e-4);

    // The ball has no combine rule of its own (Average) and the floor uses Multiply; Rapier takes the
    // rule of higher precedence (Max > Multiply > Min > Average), so e = e_ball · e_floor.
    const e = MATERIAL_SPECS[material].restitution * FLOORS[setting].restitution;
    const r = MATERIAL_SPECS[material].size;
    const heights = trace.frames.map((f) => (f.bodies[0]?.y ?? 0) - r);
    const apexes = [heights[0] ?? 0];
    for (let i = 1; i + 1 < heights.length; i++) {
      const h = heights[i] ?? 0;
      if (h > (heights[i - 1] ?? 0) && h >= (heights[i + 1] ?? 0)) apexes.push(h);
    }
    expect(apexes.length).toBeGreaterThanOrEqual(4);
    // The first three bounces: later ones are millimetres high, where Rapier's contact tolerances
    // (not restitution) set the height.
    for (let k = 1; k <= 3; k++) {
      const ratio = (apexes[k] ?? 0) / (apexes[k - 1] ?? 1);
      expect(Math.abs(ratio - e * e), `bounce ${k}: ratio ${ratio.toFixed(3)} vs e² ${(e * e).toFixed(3)}`).toBeLessThan(0.025);
    }
  });

  it('never gains energy in 30 sampled scenes without a figure', async () => {
    let checked = 0;
    for (let seed = 0; checked < 30; seed++) {
      const scene = sampleScene(seed, { durationS: 3, fps: 24 });
      // A figure throws or kicks: it adds energy by design.
      if (scene.character) continue;
      checked++;
      const growth = energyGrowth((await simulate(scene)).frames, GRAVITY * scene.gravityScale);
      // A tumbling crate landing on a corner turns spin (not counted) back into motion: up to ~2.5 %
      // of a scene's energy over 300 sampled scenes. A restitution above 1 or a sign slip in
      // gravity would add far more than 4 %.
      expect(growth.step, `seed ${seed}: energy rose by ${(100 * growth.step).toFixed(2)} % in one frame`).toBeLessThan(0.04);
      expect(growth.overall, `seed ${seed}: energy rose ${(100 * growth.overall).toFixed(2)} % above its start`).toBeLessThan(0.04);
    }
  });
});

describe('dataset export', () => {
  let root = '';
  const clip = { size: 32, durationS: 1, fps: 8, sampleRate: 16_000 } as const;
  const base = (out: string, workers: number): ExportOptions => ({ out, clips: 3, seed: 40, shardSize: 2, workers, ...clip });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'zoetrope-world-test-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function folderBytes(dir: string): Promise<Map<string, Buffer>> {
    const names = (await readdir(dir)).sort();
    return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n))] as const)));
  }

  it('writes the background layer when asked: the same frames without their balls, in the index', async () => {
    const plain = join(root, 'plain');
    const layered = join(root, 'layered');
    await exportDataset(base(plain, 0));
    const index = await exportDataset({ ...base(layered, 1), background: true });
    expect(index.layers).toEqual(['background']);
    expect(index.shards[0]?.files.map((f) => f.file)).toEqual(['shard-00000.frames.npy', 'shard-00000.background.npy', 'shard-00000.audio.npy', 'shard-00000.meta.jsonl']);
    const [a, b] = [await folderBytes(plain), await folderBytes(layered)];
    // The layer changes nothing else: frames, audio and metadata are the bytes of a plain export.
    for (const name of ['shard-00000.frames.npy', 'shard-00001.audio.npy', 'shard-00001.meta.jsonl']) expect(b.get(name)?.equals(a.get(name) ?? Buffer.alloc(0)), name).toBe(true);
    const frames = b.get('shard-00000.frames.npy') ?? Buffer.alloc(0);
    const background = b.get('shard-00000.background.npy') ?? Buffer.alloc(0);
    expect(parseNpyHeader(background).shape).toEqual([2, 8, 32, 32, 3]);
    let differing = 0;
    for (let i = parseNpyHeader(frames).dataOffset; i < frames.length; i++) if (frames[i] !== background[i]) differing++;
    expect(differing).toBeGreaterThan(0);
    expect(differing).toBeLessThan((frames.length - parseNpyHeader(frames).dataOffset) * 0.1);
    await expect(exportDataset({ ...base(join(root, 'bad'), 0), background: 'yes' as unknown as boolean })).rejects.toThrow(/background must be true or false/);
  });

  it('writes the bare layer when asked: the background without its boxes, and only where a clip has boxes', async () => {
    // Seed 100000 + 0 has a stack of boxes, 100000 + 3 has none (the world's sampler, pinned).
    const opts = { clips: 4, seed: 100_000, size: 32, durationS: 1, fps: 8, sampleRate: 16_000, shardSize: 4, workers: 0 } as const;
    const dir = join(root, 'bare');
    const index = await exportDataset({ ...opts, out: dir, background: true, bare: true });
    expect(index.layers).toEqual(['background', 'bare']);
    expect(index.shards[0]?.files.map((f) => f.file)).toEqual(['shard-00000.frames.npy', 'shard-00000.background.npy', 'shard-00000.bare.npy', 'shard-00000.audio.npy', 'shard-00000.meta.jsonl']);
    const files = await folderBytes(dir);
    const background = files.get('shard-00000.background.npy') ?? Buffer.alloc(0);
    const bare = files.get('shard-00000.bare.npy') ?? Buffer.alloc(0);
    const offset = parseNpyHeader(bare).dataOffset;
    expect(parseNpyHeader(bare).shape).toEqual([4, 8, 32, 32, 3]);
    const clipBytes = 8 * 32 * 32 * 3;
    const differing = (clip: number) => {
      let n = 0;
      for (let i = offset + clip * clipBytes; i < offset + (clip + 1) * clipBytes; i++) if (background[i] !== bare[i]) n++;
      return n;
    };
    const metas = (files.get('shard-00000.meta.jsonl') ?? Buffer.alloc(0)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { prompt: string });
    const asksForBoxes = metas.map((m) => /box|crate/.test(m.prompt));
    expect(asksForBoxes[0]).toBe(true);
    expect(asksForBoxes[3]).toBe(false);
    for (let c = 0; c < 4; c++) {
      if (asksForBoxes[c]) expect(differing(c), `clip ${c}`).toBeGreaterThan(0);
      else expect(differing(c), `clip ${c}`).toBe(0);
    }
    await expect(exportDataset({ ...base(join(root, 'bad-bare'), 0), bare: 1 as unknown as boolean })).rejects.toThrow(/bare must be true or false/);
  });

  it('writes shards that match their index, parse as numpy arrays and are the same with 1 or 2 workers', async () => {
    const one = join(root, 'one');
    const two = join(root, 'two');
    const progress: string[] = [];
    const index = await exportDataset(base(one, 1), { onProgress: (p) => progress.push(p.status) });
    await exportDataset(base(two, 2));
    expect(progress[0]).toBe('start');
    expect(progress.filter((s) => s === 'clip')).toHaveLength(3);
    expect(progress.at(-1)).toBe('done');

    const files = await folderBytes(one);
    const onDisk = JSON.parse(files.get('index.json')?.toString('utf8') ?? '{}') as DatasetIndex;
    expect(onDisk).toEqual(index);
    expect(index).toMatchObject({ version: 1, generator: 'zoetrope-world', seed: 40, clips: 3, size: 32, fps: 8, durationS: 1, sampleRate: 16_000, framesPerClip: 8, samplesPerClip: 16_000 });
    expect(index.shards.map((s) => [s.name, s.clips])).toEqual([['shard-00000', 2], ['shard-00001', 1]]);
    // Exactly the files the index names, plus the index: no temp files left behind.
    expect([...files.keys()].sort()).toEqual(['index.json', ...index.shards.flatMap((s) => s.files.map((f) => f.file))].sort());

    const metas: ClipMeta[] = [];
    for (const shard of index.shards) {
      for (const f of shard.files) {
        const data = files.get(f.file);
        if (!data) throw new Error(`${f.file} is missing`);
        expect(data.length, f.file).toBe(f.bytes);
        expect(createHash('sha256').update(data).digest('hex'), f.file).toBe(f.sha256);
      }
      const frames = files.get(`${shard.name}.frames.npy`) ?? Buffer.alloc(0);
      const fh = parseNpyHeader(frames);
      expect(fh).toMatchObject({ descr: '|u1', fortranOrder: false, shape: [shard.clips, 8, 32, 32, 3] });
      expect(fh.dataOffset % 64).toBe(0);
      expect(frames.length - fh.dataOffset).toBe(shard.clips * 8 * 32 * 32 * 3);
      const audio = files.get(`${shard.name}.audio.npy`) ?? Buffer.alloc(0);
      const ah = parseNpyHeader(audio);
      expect(ah).toMatchObject({ descr: '<i2', fortranOrder: false, shape: [shard.clips, 16_000] });
      expect(ah.dataOffset % 64).toBe(0);
      expect(audio.length - ah.dataOffset).toBe(shard.clips * 16_000 * 2);
      const lines = (files.get(`${shard.name}.meta.jsonl`)?.toString('utf8') ?? '').split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(shard.clips);
      metas.push(...lines.map((l) => JSON.parse(l) as ClipMeta));
    }

    expect(metas.map((m) => [m.index, m.seed])).toEqual([[0, 40], [1, 41], [2, 42]]);
    for (const m of metas) {
      expect(m.prompt.length).toBeGreaterThan(0);
      expect(parseScene(m.scene)).toEqual(m.scene);
      expect(m.tracks).toHaveLength(8);
      for (const point of m.tracks.flat()) {
        expect(point.visible).toBe(point.px >= 0 && point.px < 32 && point.py >= 0 && point.py < 32);
        expect(point.radiusPx).toBeGreaterThan(0);
      }
      for (const c of m.contacts) {
        expect(c.sample).toBe(Math.round(c.t * 16_000));
        expect(c.frame).toBe(Math.min(7, Math.floor(c.t * 8 + 1e-9)));
      }
    }
    // Every clip shows a dropped ball in a wide first shot: it starts inside the frame.
    expect(metas.every((m) => m.tracks[0]?.some((p) => p.id === 'ball-1' && p.visible))).toBe(true);

    // Clip 2 is the clip of seed 42 whatever shard it lands in: compare with rendering it directly.
    const direct = await makeClip(sampleScene(42, { durationS: 1, fps: 8 }), { size: 32, sampleRate: 16_000 });
    const shard1 = files.get('shard-00001.frames.npy') ?? Buffer.alloc(0);
    expect(shard1.subarray(parseNpyHeader(shard1).dataOffset).equals(bytesOf(direct.frames))).toBe(true);
    const audio1 = files.get('shard-00001.audio.npy') ?? Buffer.alloc(0);
    expect(audio1.subarray(parseNpyHeader(audio1).dataOffset).equals(bytesOf(toInt16(direct.audio)))).toBe(true);

    const other = await folderBytes(two);
    expect([...other.keys()]).toEqual([...files.keys()]);
    for (const [name, data] of files) expect(other.get(name)?.equals(data), `${name} differs between 1 and 2 workers`).toBe(true);
  });

  it('replaces a previous dataset but refuses a foreign non-empty folder unless forced', async () => {
    const dir = join(root, 'again');
    // On the calling thread: these checks are about the folder, not the workers.
    await exportDataset({ ...base(dir, 0), clips: 3, shardSize: 1 });
    await exportDataset({ ...base(dir, 0), clips: 2, shardSize: 2 });
    expect((await readdir(dir)).sort()).toEqual(['index.json', 'shard-00000.audio.npy', 'shard-00000.frames.npy', 'shard-00000.meta.jsonl']);

    const foreign = join(root, 'foreign');
    await exportDataset({ ...base(foreign, 0), clips: 1 }).then(() => rm(join(foreign, 'index.json')));
    await writeFile(join(foreign, 'notes.txt'), 'mine');
    await expect(exportDataset({ ...base(foreign, 0), clips: 1 })).rejects.toBeInstanceOf(ConflictError);
    await exportDataset({ ...base(foreign, 0), clips: 1, force: true });
    expect((await readdir(foreign)).sort()).toContain('notes.txt');
    expect((await readdir(foreign)).sort()).toContain('index.json');
  });

  it('names the bad option and writes nothing', async () => {
    const dir = join(root, 'never');
    const bad = (o: Partial<ExportOptions>) => exportDataset({ ...base(dir, 0), ...o });
    await expect(bad({ clips: 0 })).rejects.toThrow('clips must be an integer 1–1000000 (got 0)');
    await expect(bad({ seed: 4_294_967_295 })).rejects.toThrow('seed must be an integer 0–4294967293');
    await expect(bad({ durationS: 1.05 })).rejects.toThrow('durationS must give a whole number of frames at 8 fps');
    await expect(bad({ size: 8, workers: 1.5 })).rejects.toSatisfy((e) => e instanceof ValidationError && e.issues.map((i) => i.field).join() === 'size,workers');
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });
});

describe('world command line', () => {
  async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), stderrIsTTY: false };
    const code = await runCli(argv, io);
    return { code, stdout, stderr };
  }

  it.each([
    [['export', '--clips', '0', '--seed', '1', '--out', '/nonexistent/x'], '--clips must be an integer 1–1000000 (got 0)'],
    [['export', '--clips', 'ten', '--seed', '1', '--out', '/nonexistent/x'], '--clips must be a number (got "ten")'],
    [['export', '--clips', '2', '--seed', '1', '--out', '/nonexistent/x', '--size', '9000'], '--size must be an integer 16–512 (got 9000)'],
    [['export', '--clips', '2', '--seed', '1', '--out', '/nonexistent/x', '--sample-rate=100'], '--sample-rate must be an integer 8000–48000 (got 100)'],
    [['export', '--clips', '2', '--seed', '1', '--out', '/nonexistent/x', '--duration', '1.05'], '--duration must give a whole number of frames at 12 fps'],
    [['export', '--clips', '2', '--seed', '1', '--out', '/nonexistent/x', '--shard-size', '-1'], '--shard-size must be an integer 1–100000 (got -1)'],
    [['export', '--clips', '2', '--seed', '1', '--out', '/nonexistent/x', '--workers', '100'], '--workers must be an integer 0–64 (got 100)'],
    [['export', '--clips', '2', '--seed', '1'], '--out is required'],
    [['export', '--clips', '2', '--seed', '1', '--out', '/nonexistent/x', '--bogus', '3'], 'unknown option --bogus for "export"'],
    [['export', '--clips'], '--clips needs a value'],
    [['sample', '--seed', '-4'], '--seed must be an integer 0–4294967295 (got -4)'],
    [['sample', '--seed', '1', '--size', '64'], 'unknown option --size for "sample"'],
    [['render', '--seed', '1'], 'unknown command "render"'],
    [['prompts', '--clips', '0', '--seed', '1', '--out', '/nonexistent/x'], '--clips must be an integer 1–1000000 (got 0)'],
    [['prompts', '--clips', '2', '--seed', '4294967295', '--out', '/nonexistent/x'], '--seed must be an integer from 0 with seed + clips − 1 at most 4294967295'],
    [['prompts', '--clips', '2', '--seed', '1'], '--out is required'],
  ])('%j fails with exit code 2: %s', async (argv, message) => {
    const { code, stderr, stdout } = await run(...argv);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stdout).toBe('');
  });

  it('exits with code 2 as a real process', () => {
    const cli = fileURLToPath(new URL('../../model-shards/world/cli.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', 'tsx', cli, 'export', '--clips', '1', '--seed', '1', '--out', '/nonexistent/x', '--colour', 'red'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown option --colour for "export"');
  });

  it('writes sampled scenes\' prompts and their boxes\' colours without rendering', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zoetrope-prompts-'));
    try {
      const out = join(dir, 'prompts.jsonl');
      const written = await run('prompts', '--clips', '40', '--seed', '100000', '--out', out);
      expect(written.code).toBe(0);
      const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { seed: number; prompt: string; boxes: string[] });
      expect(lines.map((l) => l.seed)).toEqual(Array.from({ length: 40 }, (_, i) => 100000 + i));
      for (const line of lines) {
        const scene = sampleScene(line.seed);
        // The box slots' order: the stack's boxes from the bottom, then the loose boxes as the scene lists them.
        const want = [...Array.from({ length: scene.boxStack?.count ?? 0 }, () => scene.boxStack?.colour), ...scene.objects.filter((o) => o.material === 'wooden box').map((o) => o.colour)];
        expect(line.boxes).toEqual(want);
        for (const colour of new Set(line.boxes)) expect(line.prompt).toContain(colour);
      }
      expect(lines.filter((l) => l.boxes.length > 0).length).toBeGreaterThan(0);
      const cameos = await run('prompts', '--clips', '2', '--seed', '7', '--cameos', '--out', out);
      expect(cameos.code).toBe(0);
      expect(JSON.parse((await readFile(out, 'utf8')).split('\n')[0] as string).seed).toBe(7);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints help, and a sampled scene with its prompt', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--shard-size');
    const sample = await run('sample', '--seed', '7');
    expect(sample.code).toBe(0);
    const printed = JSON.parse(sample.stdout) as { seed: number; prompt: string; scene: Scene };
    expect(printed.scene).toEqual(sampleScene(7));
    expect(printed.prompt.length).toBeGreaterThan(0);
  });
});
