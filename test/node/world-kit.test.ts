import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset, type DatasetIndex } from '../../model-shards/world/dataset.ts';
import { buildWorldKit, type KitManifest } from '../../model-shards/world/kit.ts';

// The world kit: the CLI bundled with its own node and native module, for a machine with neither.
describe('world kit', () => {
  let root = '';
  let kit = '';
  let manifest: KitManifest;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'zoetrope-kit-test-'));
    kit = join(root, 'kit');
    manifest = await buildWorldKit(kit);
  }, 120_000);
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('lists every file it holds with its size and sha256', async () => {
    const paths = manifest.files.map((f) => f.path);
    for (const needed of ['node', 'world.mjs', 'dataset-worker.mjs']) expect(paths).toContain(needed);
    expect(paths.some((p) => p.startsWith('node_modules/@napi-rs/canvas/'))).toBe(true);
    expect(paths.some((p) => p.endsWith('.node'))).toBe(true);
    for (const file of manifest.files.filter((f) => !f.path.startsWith('node_modules/'))) {
      const data = await readFile(join(kit, file.path));
      expect(data.length, file.path).toBe(file.bytes);
      expect(createHash('sha256').update(data).digest('hex'), file.path).toBe(file.sha256);
    }
    expect(JSON.parse(await readFile(join(kit, 'kit.json'), 'utf8'))).toEqual(manifest);
  });

  it('renders, with no PATH, no node_modules above it and worker threads, the bytes npm run world renders', async () => {
    const options = { clips: 3, seed: 71, size: 32, durationS: 1, fps: 8, sampleRate: 16_000, shardSize: 2, background: true } as const;
    const here = join(root, 'in-process');
    const index = await exportDataset({ ...options, out: here, workers: 0 });
    const away = join(root, 'away');
    await mkdir(away);
    const run = spawnSync(
      join(kit, 'node'),
      [join(kit, 'world.mjs'), 'export', '--clips', '3', '--seed', '71', '--size', '32', '--duration', '1', '--fps', '8', '--sample-rate', '16000', '--shard-size', '2', '--background', '--workers', '2', '--out', join(away, 'data')],
      { cwd: away, env: {}, encoding: 'utf8' },
    );
    expect(run.stderr + run.stdout).toMatch(/wrote 3 clips in 2 shards/);
    expect(run.status).toBe(0);
    const kitIndex = JSON.parse(await readFile(join(away, 'data', 'index.json'), 'utf8')) as DatasetIndex;
    expect(kitIndex.shards).toEqual(index.shards);
  });

  it('refuses to build over a folder that holds something else', async () => {
    const busy = join(root, 'busy');
    await mkdir(busy);
    await writeFile(join(busy, 'notes.txt'), 'keep me');
    await expect(buildWorldKit(busy)).rejects.toThrow(/is not empty and holds no world kit/);
    expect(await readFile(join(busy, 'notes.txt'), 'utf8')).toBe('keep me');
  });
});
