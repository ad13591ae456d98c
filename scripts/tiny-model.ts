/**
 * `npm run fixture:tiny-model`: the tiny test model in test/fixtures/tiny-model — a real model made
 * by the real pipeline (world export → every training stage for a few steps, the cameo stage included
 * → ONNX export), so its graphs, tensor names and manifest are those of the Draft, only small and
 * untrained. Deterministic:
 * fixed seeds, one thread.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OUT = 'test/fixtures/tiny-model';
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
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
