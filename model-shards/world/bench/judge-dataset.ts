import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../../../contracts/index.ts';
import { parseNpyHeader, type DatasetIndex } from '../dataset.ts';
import { parsePrompt } from '../prompts.ts';
import { AXES, generalise, type Axis } from './calibrate.ts';
import { judgeClip, type ClipVerdict } from './judge.ts';
import { settingPrototypes } from './prototypes.ts';

/**
 * Judges every clip of a dataset folder (the world's export format, which the model's generator
 * also writes): per-clip verdicts to `judgement.jsonl`, the aggregate to `judgement.json`.
 */
export interface DatasetJudgement {
  readonly clips: number;
  readonly passRate: Record<Axis, number>;
  readonly allAxesPassRate: number;
  readonly unknownWords: Record<string, number>;
  readonly reasons: Record<Axis, [string, number][]>;
}

async function readNpy(path: string, descr: string): Promise<{ shape: readonly number[]; data: Uint8Array }> {
  const bytes = new Uint8Array(await readFile(path));
  const header = parseNpyHeader(bytes);
  if (header.descr !== descr || header.fortranOrder) throw new ValidationError([{ field: path, message: `must be a C-ordered ${descr} array (got ${header.descr})` }]);
  return { shape: header.shape, data: bytes.subarray(header.dataOffset) };
}

export async function judgeDataset(dir: string, onProgress?: (done: number, total: number) => void): Promise<DatasetJudgement> {
  let index: DatasetIndex;
  try {
    index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as DatasetIndex;
  } catch (error) {
    throw new ValidationError([{ field: 'dataset', message: `has no readable index.json in ${dir} (${(error as Error).message})` }]);
  }
  const prototypes = await settingPrototypes(index.size);
  const lines: string[] = [];
  const pass: Record<Axis, number> = { adherence: 0, physics: 0, sync: 0 };
  const reasons: Record<Axis, Map<string, number>> = { adherence: new Map(), physics: new Map(), sync: new Map() };
  const unknown = new Map<string, number>();
  let all = 0;
  let done = 0;
  for (const shard of index.shards) {
    const frames = await readNpy(join(dir, `${shard.name}.frames.npy`), '|u1');
    const audio = await readNpy(join(dir, `${shard.name}.audio.npy`), '<i2');
    const meta = (await readFile(join(dir, `${shard.name}.meta.jsonl`), 'utf8')).split('\n').filter((l) => l.trim() !== '');
    const [n = 0, t = 0, s = 0] = frames.shape;
    const samples = audio.shape[1] ?? 0;
    const pcm16 = new Int16Array(audio.data.buffer.slice(audio.data.byteOffset, audio.data.byteOffset + n * samples * 2));
    for (let k = 0; k < n; k++) {
      const { index: clipIndex, prompt } = JSON.parse(meta[k] ?? '{}') as { index: number; prompt: string };
      const parsed = parsePrompt(prompt);
      const pcm = Float32Array.from(pcm16.subarray(k * samples, (k + 1) * samples), (v) => v / 32768);
      const clipBytes = t * s * s * 3;
      const verdict: ClipVerdict = judgeClip(
        { video: { frames: frames.data.subarray(k * clipBytes, (k + 1) * clipBytes), size: s, fps: index.fps }, audio: { pcm, sampleRate: index.sampleRate }, facts: parsed.facts },
        prototypes,
      );
      for (const w of parsed.unknownWords) unknown.set(w, (unknown.get(w) ?? 0) + 1);
      for (const axis of AXES) {
        if (verdict[axis].pass) pass[axis]++;
        for (const r of verdict[axis].reasons) reasons[axis].set(generalise(r), (reasons[axis].get(generalise(r)) ?? 0) + 1);
      }
      if (AXES.every((a) => verdict[a].pass)) all++;
      lines.push(JSON.stringify({ index: clipIndex, prompt, unknownWords: parsed.unknownWords, ...verdict }));
      done++;
      onProgress?.(done, index.clips);
    }
  }
  const clips = Math.max(1, done);
  const judgement: DatasetJudgement = {
    clips: done,
    passRate: { adherence: pass.adherence / clips, physics: pass.physics / clips, sync: pass.sync / clips },
    allAxesPassRate: all / clips,
    unknownWords: Object.fromEntries([...unknown].sort((a, b) => b[1] - a[1])),
    reasons: {
      adherence: [...reasons.adherence].sort((a, b) => b[1] - a[1]).slice(0, 10),
      physics: [...reasons.physics].sort((a, b) => b[1] - a[1]).slice(0, 10),
      sync: [...reasons.sync].sort((a, b) => b[1] - a[1]).slice(0, 10),
    },
  };
  await writeFile(join(dir, 'judgement.jsonl'), `${lines.join('\n')}\n`);
  await writeFile(join(dir, 'judgement.json'), `${JSON.stringify(judgement, null, 2)}\n`);
  return judgement;
}
