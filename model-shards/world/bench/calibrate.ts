import { makeClip } from '../clip.ts';
import { parsePrompt } from '../prompts.ts';
import { sampleScene } from '../sample.ts';
import { BREAK_KINDS, BREAKS, breakClip, type BreakKind } from './corrupt.ts';
import { judgeClip, type ClipVerdict } from './judge.ts';
import { settingPrototypes } from './prototypes.ts';

export type Axis = 'adherence' | 'physics' | 'sync';
export const AXES: readonly Axis[] = ['adherence', 'physics', 'sync'];

export interface CalibrationRow {
  readonly kind: 'clean' | BreakKind;
  /** The axis this kind must fail on (none for clean clips, which must pass every axis). */
  readonly target: Axis | null;
  readonly clips: number;
  /** Share of clips that pass each axis. */
  readonly passRate: Record<Axis, number>;
  /** The requirement: clean ≥ 0.95 pass on each axis; a break fails ≥ 0.95 on its target. */
  readonly meetsRequirement: boolean;
  /** The commonest reasons on the axis that matters, with counts. */
  readonly reasons: [string, number][];
}

export interface CalibrationReport {
  readonly clips: number;
  readonly seed: number;
  readonly size: number;
  readonly rows: CalibrationRow[];
  /** Clean clips whose verdict failed somewhere, for inspection. */
  readonly cleanFailures: { seed: number; prompt: string; verdict: ClipVerdict }[];
}

/** A reason with its numbers and colours blanked, so like reasons count together. */
export const generalise = (reason: string) => reason.replace(/\d+(\.\d+)?/g, 'N').replace(/\b(red|orange|yellow|green|blue|purple|pink)\b/g, 'C');

export async function calibrate(clips: number, seed: number, size = 128, onProgress?: (done: number) => void): Promise<CalibrationReport> {
  const prototypes = await settingPrototypes(size);
  const kinds = ['clean', ...BREAK_KINDS] as const;
  const tallies = new Map<string, { pass: Record<Axis, number>; reasons: Map<string, number> }>(kinds.map((k) => [k, { pass: { adherence: 0, physics: 0, sync: 0 }, reasons: new Map() }]));
  const cleanFailures: CalibrationReport['cleanFailures'] = [];
  for (let i = 0; i < clips; i++) {
    const scene = sampleScene(seed + i);
    const clip = await makeClip(scene, { size });
    for (const kind of kinds) {
      const broken = kind === 'clean' ? { frames: clip.frames, audio: clip.audio, prompt: clip.prompt } : await breakClip(clip, kind, seed + i);
      const verdict = judgeClip(
        { video: { frames: broken.frames, size, fps: clip.fps }, audio: { pcm: broken.audio, sampleRate: clip.sampleRate }, facts: parsePrompt(broken.prompt).facts },
        prototypes,
      );
      const tally = tallies.get(kind)!;
      for (const axis of AXES) if (verdict[axis].pass) tally.pass[axis]++;
      const focus: readonly Axis[] = kind === 'clean' ? AXES : [BREAKS[kind]];
      for (const axis of focus) {
        for (const reason of kind === 'clean' ? verdict[axis].reasons : verdict[axis].pass ? ['(passed)'] : verdict[axis].reasons.slice(0, 1)) {
          const key = `${kind === 'clean' ? `${axis}: ` : ''}${generalise(reason)}`;
          tally.reasons.set(key, (tally.reasons.get(key) ?? 0) + 1);
        }
      }
      if (kind === 'clean' && AXES.some((a) => !verdict[a].pass)) cleanFailures.push({ seed: seed + i, prompt: clip.prompt, verdict });
    }
    onProgress?.(i + 1);
  }
  const rows: CalibrationRow[] = kinds.map((kind) => {
    const t = tallies.get(kind)!;
    const passRate = { adherence: t.pass.adherence / clips, physics: t.pass.physics / clips, sync: t.pass.sync / clips };
    const target = kind === 'clean' ? null : BREAKS[kind];
    const meetsRequirement = target === null ? AXES.every((a) => passRate[a] >= 0.95) : 1 - passRate[target] >= 0.95;
    return { kind, target, clips, passRate, meetsRequirement, reasons: [...t.reasons].sort((a, b) => b[1] - a[1]).slice(0, 6) };
  });
  return { clips, seed, size, rows, cleanFailures };
}

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;

/** The calibration table as Markdown, for model-shards/world/BENCH.md. */
export function calibrationMarkdown(report: CalibrationReport, command: string, date: string): string {
  const head = `| clip | must | adherence pass | physics pass | sync pass | meets requirement | commonest reasons (on the axis that matters) |\n|---|---|---|---|---|---|---|`;
  const rows = report.rows.map((r) => {
    const must = r.target === null ? 'pass every axis (≥ 95%)' : `fail ${r.target} (≥ 95%)`;
    const reasons = r.reasons.slice(0, 3).map(([text, n]) => `${text.replaceAll('|', '\\|')} (${n})`).join('; ');
    return `| ${r.kind} | ${must} | ${pct(r.passRate.adherence)} | ${pct(r.passRate.physics)} | ${pct(r.passRate.sync)} | ${r.meetsRequirement ? 'yes' : '**no**'} | ${reasons} |`;
  });
  return `${head}\n${rows.join('\n')}\n\n${report.clips} clips of ${report.size}×${report.size}, seeds ${report.seed}–${report.seed + report.clips - 1}; measured ${date} with \`${command}\`.\n`;
}
