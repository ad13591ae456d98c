import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesizeAudio, toInt16 } from './audio.ts';
import { renderTrace, type Clip } from './clip.ts';
import { judgeClip } from './bench/judge.ts';
import { settingPrototypes } from './bench/prototypes.ts';
import { makeClip } from './clip.ts';
import { clipMeta, exportDataset } from './dataset.ts';
import { parsePrompt } from './prompts.ts';
import { describeScene } from './prompts.ts';
import { sampleScene } from './sample.ts';
import { simulate } from './simulate.ts';

/**
 * `npm run bench:world`: dataset export throughput (200 clips of 128 px × 2 s @ 12 fps, 16 kHz, two
 * workers; target ≥ 5 clips/s) and the cost of each step of a clip on one thread. Writes
 * bench-results/world.json as {bench, date, machine, export, steps, judge} — judge being the physics
 * bench's clips/s on one thread.
 */

const EXPORT = Object.freeze({ clips: 200, seed: 1_000_000, size: 128, durationS: 2, fps: 12, sampleRate: 16_000, workers: 2 });
const TARGET_CLIPS_PER_S = 5;
const STEP_CLIPS = 30;
/** Far from the export's seeds, so the two parts time different scenes. */
const STEP_SEED = 2_000_000;

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

function summary(ms: readonly number[]): { mean: number; p50: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  return { mean: round(ms.reduce((a, b) => a + b, 0) / ms.length), p50: round(sorted[Math.floor(sorted.length / 2)] ?? 0), max: round(sorted[sorted.length - 1] ?? 0) };
}

async function benchExport() {
  const out = await mkdtemp(join(os.tmpdir(), 'zoetrope-world-bench-'));
  try {
    let firstClipMs = 0;
    const started = performance.now();
    const index = await exportDataset(
      { ...EXPORT, out },
      {
        onProgress: (p) => {
          if (p.status === 'clip' && p.done === 1) firstClipMs = p.elapsedMs;
        },
      },
    );
    const seconds = (performance.now() - started) / 1000;
    const bytes = index.shards.reduce((t, s) => t + s.files.reduce((u, f) => u + f.bytes, 0), 0);
    const clipsPerS = EXPORT.clips / seconds;
    return {
      ...EXPORT,
      shardSize: index.shardSize,
      seconds: round(seconds),
      clipsPerS: round(clipsPerS),
      // Without the workers' start-up (loading tsx, Rapier and Skia), which a long export amortises.
      steadyClipsPerS: round((EXPORT.clips - 1) / (seconds - firstClipMs / 1000)),
      firstClipS: round(firstClipMs / 1000),
      megabytes: round(bytes / 1e6, 1),
      targetClipsPerS: TARGET_CLIPS_PER_S,
      meetsTarget: clipsPerS >= TARGET_CLIPS_PER_S,
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

async function benchSteps() {
  const spec = { durationS: EXPORT.durationS, fps: EXPORT.fps };
  // One clip first, untimed: Rapier's WASM and Skia load once per thread.
  await simulate(sampleScene(STEP_SEED - 1, spec));
  const times = { simulate: [] as number[], render: [] as number[], audio: [] as number[], meta: [] as number[], total: [] as number[] };
  for (let i = 0; i < STEP_CLIPS; i++) {
    const t0 = performance.now();
    const scene = sampleScene(STEP_SEED + i, spec);
    const trace = await simulate(scene);
    const t1 = performance.now();
    const { frames, views } = renderTrace(trace, EXPORT.size);
    const t2 = performance.now();
    const audio = synthesizeAudio(trace, { sampleRate: EXPORT.sampleRate });
    const t3 = performance.now();
    // What the export adds per clip: prompt, metadata line, 16-bit PCM.
    const clip: Clip = { scene, prompt: describeScene(scene, scene.seed), size: EXPORT.size, fps: scene.fps, frames, sampleRate: EXPORT.sampleRate, audio, trace, views };
    JSON.stringify(clipMeta(clip, i));
    toInt16(audio);
    const t4 = performance.now();
    times.simulate.push(t1 - t0);
    times.render.push(t2 - t1);
    times.audio.push(t3 - t2);
    times.meta.push(t4 - t3);
    times.total.push(t4 - t0);
  }
  const total = summary(times.total);
  return {
    clips: STEP_CLIPS,
    thread: 'main',
    simulateMs: summary(times.simulate),
    renderMs: summary(times.render),
    audioMs: summary(times.audio),
    metaMs: summary(times.meta),
    totalMs: total,
    clipsPerSOneThread: round(1000 / total.mean),
  };
}

/** The physics bench's own speed: judging a clip (frames, sound, prompt) after it exists. */
async function benchJudge() {
  const prototypes = await settingPrototypes(EXPORT.size);
  const ms: number[] = [];
  for (let i = 0; i < STEP_CLIPS; i++) {
    const clip = await makeClip(sampleScene(STEP_SEED + 100 + i, { durationS: EXPORT.durationS, fps: EXPORT.fps }), { size: EXPORT.size, sampleRate: EXPORT.sampleRate });
    const t0 = performance.now();
    judgeClip({ video: { frames: clip.frames, size: clip.size, fps: clip.fps }, audio: { pcm: clip.audio, sampleRate: clip.sampleRate }, facts: parsePrompt(clip.prompt).facts }, prototypes);
    ms.push(performance.now() - t0);
  }
  const time = summary(ms);
  return { clips: STEP_CLIPS, thread: 'main', judgeMs: time, clipsPerSOneThread: round(1000 / time.mean) };
}

const cpus = os.cpus();
const result = {
  bench: 'world',
  date: new Date().toISOString(),
  machine: { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.arch()}`, loadAvg1m: round(os.loadavg()[0] ?? 0) },
  export: await benchExport(),
  steps: await benchSteps(),
  judge: await benchJudge(),
};
const path = fileURLToPath(new URL('../../bench-results/world.json', import.meta.url));
await mkdir(fileURLToPath(new URL('../../bench-results/', import.meta.url)), { recursive: true });
await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
