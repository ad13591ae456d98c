/**
 * `npm run fixture:tiny-model`: the tiny test models in test/fixtures — real models made by the real
 * pipeline (world export → every training stage for a few steps → ONNX export), so their graphs,
 * tensor names and manifests are those of the Draft, only small and untrained:
 * - `tiny-model`: cameo conditioning in the generator (the cameo stage; the face rides into the text encoder);
 * - `tiny-model-head`: cameos as a slot (config tiny-cameo; the video decoder paints the face on the head,
 *   where its head locator reads it from the latent).
 * Deterministic: fixed seeds, one thread.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OUT = 'test/fixtures/tiny-model';
const OUT_HEAD = 'test/fixtures/tiny-model-head';
const tmp = mkdtempSync(join(tmpdir(), 'zoetrope-tiny-'));
const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PYTHONPATH: 'model-shards/training' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
};
try {
  run('node_modules/.bin/tsx', ['model-shards/world/cli.ts', 'export', '--clips', '6', '--seed', '4242', '--size', '32', '--duration', '1', '--sample-rate', '24000', '--workers', '0', '--background', '--out', join(tmp, 'data')]);
  for (const stage of ['video-ae', 'audio-ae', 'encode', 'generator', 'pairs', 'student']) {
    run('/usr/bin/python3', ['-m', 'zoetrope.train', '--config', 'tiny', '--stage', stage, '--data', join(tmp, 'data'), '--run', join(tmp, 'run'), '--steps', '3', '--threads', '1', '--quiet']);
  }
  // Cameo conditioning, as the Draft has it: clips whose figure wears a face, and the cameo stage.
  run('node_modules/.bin/tsx', ['model-shards/world/cli.ts', 'export', '--clips', '6', '--seed', '4343', '--size', '32', '--duration', '1', '--sample-rate', '24000', '--workers', '0', '--background', '--cameos', '--out', join(tmp, 'cameos')]);
  run('/usr/bin/python3', ['-m', 'zoetrope.train', '--config', 'tiny', '--stage', 'encode', '--data', join(tmp, 'cameos'), '--run', join(tmp, 'cameo-run'), '--base', join(tmp, 'run'), '--threads', '1', '--quiet']);
  run('/usr/bin/python3', ['-m', 'zoetrope.train', '--config', 'tiny', '--stage', 'cameo', '--run', join(tmp, 'cameo-run'), '--steps', '3', '--threads', '1', '--quiet']);
  rmSync(OUT, { recursive: true, force: true });
  run('/usr/bin/python3', ['-m', 'zoetrope.export', '--config', 'tiny', '--run', join(tmp, 'cameo-run'), '--denoiser', 'generator', '--out', OUT, '--id', 'zoetrope-tiny', '--version', '0.0.1', '--steps', '4', '--guidance', '2', '--parity', join(OUT, '..', 'tiny-model-parity.json')]);
  console.log(`wrote ${OUT}`);
  // Cameos as a slot: both datasets in one run built on the base run, its generator grown by the head's slot.
  const head = join(tmp, 'head-run');
  run('/usr/bin/python3', ['-m', 'zoetrope.train', '--config', 'tiny-cameo', '--stage', 'encode', '--data', join(tmp, 'data'), '--data', join(tmp, 'cameos'), '--run', head, '--base', join(tmp, 'run'), '--threads', '1', '--quiet']);
  run('/usr/bin/python3', ['-m', 'zoetrope.train', '--config', 'tiny-cameo', '--stage', 'generator', '--run', head, '--steps', '3', '--threads', '1', '--quiet']);
  run('/usr/bin/python3', ['-m', 'zoetrope.train', '--config', 'tiny-cameo', '--stage', 'head-locator', '--run', head, '--steps', '400', '--threads', '1', '--quiet']);
  run('/usr/bin/python3', ['-m', 'zoetrope.train', '--config', 'tiny-cameo', '--stage', 'track-refiner', '--run', head, '--steps', '40', '--threads', '1', '--quiet']);
  run('/usr/bin/python3', ['-m', 'zoetrope.train', '--config', 'tiny-cameo', '--stage', 'sound-refiner', '--run', head, '--steps', '40', '--threads', '1', '--quiet']);
  rmSync(OUT_HEAD, { recursive: true, force: true });
  run('/usr/bin/python3', ['-m', 'zoetrope.export', '--config', 'tiny-cameo', '--run', head, '--denoiser', 'generator', '--out', OUT_HEAD, '--id', 'zoetrope-tiny-head', '--version', '0.0.1', '--steps', '4', '--guidance', '2', '--parity', join(OUT_HEAD, '..', 'tiny-model-head-parity.json')]);
  console.log(`wrote ${OUT_HEAD}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
