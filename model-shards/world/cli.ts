import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CanceledError, ConflictError, ValidationError, type FieldIssue } from '../../contracts/index.ts';
import { DEFAULT_EXPORT, DURATION_LIMITS, EXPORT_LIMITS, exportDataset, resolveExportOptions, type ExportOptions, type ExportProgress } from './dataset.ts';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { calibrate, calibrationMarkdown } from './bench/calibrate.ts';
import { judgeDataset } from './bench/judge-dataset.ts';
import { describeScene } from './prompts.ts';
import { sampleScene } from './sample.ts';

/**
 * `npm run world -- <command>`: export a dataset, or print one sampled scene. `runCli` takes its
 * streams as arguments, so tests drive it without a subprocess.
 */

export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, canceled: 130 });

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Redraw the progress bar in place (a terminal) or print a line every ~10 % (a log). */
  readonly stderrIsTTY: boolean;
  readonly signal?: AbortSignal;
}

/** A mistake in how the command was called: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'usage';
}

const [clipsMin, clipsMax] = EXPORT_LIMITS.clips;
const USAGE = `Usage: npm run world -- <command> [options]

Commands:
  export     Render clips into a sharded dataset (.npy frames and audio, .jsonl metadata, index.json)
  sample     Print one sampled scene and its prompt as JSON
  prompts    Write sampled scenes' prompts and their boxes' colours as JSON lines (no rendering)
  judge      Judge every clip of a dataset folder with the physics bench (writes judgement.json/.jsonl there)
  calibrate  Judge clean and deliberately broken clips; rewrite the table in model-shards/world/BENCH.md

export options:
  --clips N          clips to render, ${clipsMin}–${clipsMax} (required)
  --seed S           base seed: clip i uses scene seed S + i (required)
  --out DIR          output folder (required)
  --size PX          frame side, ${EXPORT_LIMITS.size.join('–')} (default ${DEFAULT_EXPORT.size})
  --duration S       clip length in seconds, ${DURATION_LIMITS.join('–')} (default ${DEFAULT_EXPORT.durationS})
  --fps N            frames per second, ${EXPORT_LIMITS.fps.join('–')} (default ${DEFAULT_EXPORT.fps})
  --sample-rate HZ   audio sample rate, ${EXPORT_LIMITS.sampleRate.join('–')} (default ${DEFAULT_EXPORT.sampleRate})
  --shard-size N     clips per shard, ${EXPORT_LIMITS.shardSize.join('–')} (default ${DEFAULT_EXPORT.shardSize})
  --workers N        worker threads, ${EXPORT_LIMITS.workers.join('–')}; 0 renders on the main thread (default ${DEFAULT_EXPORT.workers})
  --force            write into a non-empty folder that holds no previous dataset
  --background       also write each clip without its balls (shard-*.background.npy), for object-slot decoders
  --bare             also write each clip without its balls or boxes (shard-*.bare.npy), for a decoder that
                     paints the boxes from slots
  --cameos           every clip has a figure wearing a random face; each face, as the user's reference image,
                     goes to shard-*.appearance.npy (uint8 [clips, 16, 16, 3])

sample options:
  --seed S           scene seed (required)
  --duration S       clip length in seconds (default ${DEFAULT_EXPORT.durationS})
  --fps N            frames per second (default ${DEFAULT_EXPORT.fps})
  --cameos           the scene a cameo export would render: a figure with a random face

prompts options:
  --clips N          scenes, 1–1000000 (required)
  --seed S           base seed: scene i uses seed S + i (required)
  --out FILE         the JSON lines file to write (required): {"seed", "prompt", "boxes"} per scene, boxes
                     the colours of its boxes as the box slots order them (the stack's from the bottom, then loose)
  --cameos           every scene has a figure, as a cameo export's

judge options:
  --dataset DIR      a folder written by export (or by the model's generator in the same format)

calibrate options:
  --clips N          clean clips, each also broken 7 ways (default 300)
  --seed S           base seed (default 5000, apart from the seeds the judge was tuned on)
  --size PX          frame side (default 128)

  -h, --help         show this help
`;

type OptionKind = 'number' | 'string' | 'flag';

/** Command-line flag → option field, per command. */
const COMMANDS = {
  export: {
    '--clips': ['clips', 'number'],
    '--seed': ['seed', 'number'],
    '--out': ['out', 'string'],
    '--size': ['size', 'number'],
    '--duration': ['durationS', 'number'],
    '--fps': ['fps', 'number'],
    '--sample-rate': ['sampleRate', 'number'],
    '--shard-size': ['shardSize', 'number'],
    '--workers': ['workers', 'number'],
    '--force': ['force', 'flag'],
    '--background': ['background', 'flag'],
    '--bare': ['bare', 'flag'],
    '--cameos': ['cameos', 'flag'],
  },
  sample: {
    '--seed': ['seed', 'number'],
    '--duration': ['durationS', 'number'],
    '--fps': ['fps', 'number'],
    '--cameos': ['cameos', 'flag'],
  },
  prompts: {
    '--clips': ['clips', 'number'],
    '--seed': ['seed', 'number'],
    '--out': ['out', 'string'],
    '--cameos': ['cameos', 'flag'],
  },
  judge: {
    '--dataset': ['out', 'string'],
  },
  calibrate: {
    '--clips': ['clips', 'number'],
    '--seed': ['seed', 'number'],
    '--size': ['size', 'number'],
  },
} as const satisfies Record<string, Record<string, readonly [keyof ExportOptions, OptionKind]>>;
type Command = keyof typeof COMMANDS;

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** The flag a field came from, for messages that name what the user typed. */
function flagOf(command: Command, field: string): string {
  const entry = Object.entries(COMMANDS[command]).find(([, [f]]) => f === field);
  return entry ? entry[0] : field;
}

function parseOptions(command: Command, args: readonly string[]): Partial<Record<keyof ExportOptions, string | number | boolean>> {
  const table: Record<string, readonly [keyof ExportOptions, OptionKind]> = COMMANDS[command];
  const values: Partial<Record<keyof ExportOptions, string | number | boolean>> = {};
  const issues: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = Object.hasOwn(table, flag) ? table[flag] : undefined;
    if (!spec) {
      throw new UsageError(arg.startsWith('-') ? `unknown option ${flag} for "${command}"` : `unexpected argument "${arg}" for "${command}"`);
    }
    const [field, kind] = spec;
    if (field in values) throw new UsageError(`${flag} is given twice`);
    if (kind === 'flag') {
      if (eq > 0) throw new UsageError(`${flag} takes no value`);
      values[field] = true;
      continue;
    }
    const raw = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith('--'))) throw new UsageError(`${flag} needs a value`);
    if (kind === 'string') values[field] = raw;
    else if (NUMBER.test(raw)) values[field] = Number(raw);
    else issues.push(`${flag} must be a number (got "${raw}")`);
  }
  if (issues.length > 0) throw new UsageError(issues.join('\n'));
  return values;
}

function requireOptions(command: Command, values: object, fields: readonly (keyof ExportOptions)[]): void {
  const missing = fields.filter((f) => !(f in values)).map((f) => `${flagOf(command, f)} is required`);
  if (missing.length > 0) throw new UsageError(missing.join('\n'));
}

/** Option errors from the dataset module, reworded with the flags the user typed. */
function cliIssues(command: Command, issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${flagOf(command, i.field)} ${i.message}`).join('\n');
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      io.stderr(USAGE);
      return EXIT.usage;
    }
    if (command === '-h' || command === '--help' || command === 'help' || rest.includes('--help') || rest.includes('-h')) {
      io.stdout(USAGE);
      return EXIT.ok;
    }
    if (command === 'export') return await runExport(rest, io);
    if (command === 'sample') return runSample(rest, io);
    if (command === 'prompts') return await runPrompts(rest, io);
    if (command === 'judge') return await runJudge(rest, io);
    if (command === 'calibrate') return await runCalibrate(rest, io);
    throw new UsageError(`unknown command "${command}" (commands: export, sample, prompts, judge, calibrate)`);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`world: ${error.message}\nRun "npm run world -- --help" for usage.\n`);
      return EXIT.usage;
    }
    if (error instanceof ValidationError) {
      const known: Command = command === 'sample' || command === 'prompts' || command === 'judge' || command === 'calibrate' ? command : 'export';
      io.stderr(`world: ${cliIssues(known, error.issues)}\nRun "npm run world -- --help" for usage.\n`);
      return EXIT.usage;
    }
    if (error instanceof CanceledError) {
      io.stderr('\nworld: canceled; finished shards are kept, but no index.json was written\n');
      return EXIT.canceled;
    }
    if (error instanceof ConflictError) {
      io.stderr(`world: ${error.message}\n`);
      return EXIT.failed;
    }
    io.stderr(`world: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failed;
  }
}

async function runExport(args: readonly string[], io: CliIo): Promise<number> {
  const values = parseOptions('export', args);
  requireOptions('export', values, ['clips', 'seed', 'out']);
  const options = resolveExportOptions(values as unknown as ExportOptions);
  const bar = new ProgressBar(io.stderr, io.stderrIsTTY);
  const index = await exportDataset(options, {
    ...(io.signal ? { signal: io.signal } : {}),
    onProgress: (p) => bar.update(p),
  });
  const bytes = index.shards.reduce((t, s) => t + s.files.reduce((u, f) => u + f.bytes, 0), 0);
  io.stdout(`wrote ${index.clips} clips in ${index.shards.length} shard${index.shards.length === 1 ? '' : 's'} (${(bytes / 1e6).toFixed(1)} MB) to ${resolve(options.out)}\n`);
  return EXIT.ok;
}

function runSample(args: readonly string[], io: CliIo): number {
  const values = parseOptions('sample', args);
  requireOptions('sample', values, ['seed']);
  // The export's checks, for one clip: the same bounds and messages for --seed, --duration, --fps.
  const o = resolveExportOptions({ ...(values as unknown as ExportOptions), out: '-', clips: 1 });
  const scene = sampleScene(o.seed, { durationS: o.durationS, fps: o.fps, cameo: o.cameos });
  io.stdout(`${JSON.stringify({ seed: o.seed, prompt: describeScene(scene, scene.seed), scene }, null, 2)}\n`);
  return EXIT.ok;
}

/** The most scenes `prompts` writes at once. */
const PROMPTS_MAX = 1_000_000;

/**
 * Prompts without rendering: what a text-only part of the model (the Draft's box planner reads the
 * boxes' colours from the words) trains on, many more than the rendered clips.
 */
async function runPrompts(args: readonly string[], io: CliIo): Promise<number> {
  const values = parseOptions('prompts', args);
  requireOptions('prompts', values, ['clips', 'seed', 'out']);
  const clips = Number(values.clips);
  const seed = Number(values.seed);
  if (!Number.isInteger(clips) || clips < 1 || clips > PROMPTS_MAX) throw new UsageError(`--clips must be an integer 1–${PROMPTS_MAX} (got ${values.clips})`);
  if (!Number.isInteger(seed) || seed < 0 || seed + clips - 1 > 0xffffffff) throw new UsageError(`--seed must be an integer from 0 with seed + clips − 1 at most 4294967295 (got ${values.seed})`);
  const lines: string[] = [];
  for (let s = seed; s < seed + clips; s++) {
    const scene = sampleScene(s, { durationS: DEFAULT_EXPORT.durationS, fps: DEFAULT_EXPORT.fps, cameo: Boolean(values.cameos) });
    const boxes: string[] = [];
    if (scene.boxStack) for (let i = 0; i < scene.boxStack.count; i++) boxes.push(scene.boxStack.colour);
    for (const o of scene.objects) if (o.material === 'wooden box') boxes.push(o.colour);
    lines.push(JSON.stringify({ seed: s, prompt: describeScene(scene, s), boxes }));
  }
  await writeFile(resolve(String(values.out)), `${lines.join('\n')}\n`);
  io.stderr(`wrote ${clips} prompts to ${String(values.out)}\n`);
  return EXIT.ok;
}

async function runJudge(args: readonly string[], io: CliIo): Promise<number> {
  const values = parseOptions('judge', args);
  requireOptions('judge', values, ['out']);
  const dir = resolve(String(values.out));
  const judgement = await judgeDataset(dir, (done, total) => {
    if (done === total || done % Math.max(1, Math.round(total / 10)) === 0) io.stderr(`judged ${done}/${total}\n`);
  });
  io.stdout(`${JSON.stringify(judgement, null, 2)}\n`);
  return EXIT.ok;
}

const BENCH_MD = fileURLToPath(new URL('./BENCH.md', import.meta.url));
const CALIBRATION_JSON = fileURLToPath(new URL('../../bench-results/world-calibration.json', import.meta.url));
const TABLE_START = '<!-- calibration:start -->';
const TABLE_END = '<!-- calibration:end -->';

async function runCalibrate(args: readonly string[], io: CliIo): Promise<number> {
  const values = parseOptions('calibrate', args);
  const clips = Number(values.clips ?? 300);
  const seed = Number(values.seed ?? 5000);
  const size = Number(values.size ?? 128);
  const issues: FieldIssue[] = [];
  if (!Number.isInteger(clips) || clips < 1 || clips > 5000) issues.push({ field: 'clips', message: `must be an integer 1–5000 (got ${clips})` });
  if (!Number.isInteger(seed) || seed < 0 || seed + clips > 0xffffffff) issues.push({ field: 'seed', message: `must be an integer 0–${0xffffffff - clips} (got ${seed})` });
  if (![64, 128, 256].includes(size)) issues.push({ field: 'size', message: `must be 64, 128 or 256 (got ${size})` });
  if (issues.length > 0) throw new ValidationError(issues);
  const started = performance.now();
  const report = await calibrate(clips, seed, size, (done) => {
    if (done === clips || done % Math.max(1, Math.round(clips / 10)) === 0) io.stderr(`calibrated ${done}/${clips} clips (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  });
  const command = `npm run world -- calibrate --clips ${clips} --seed ${seed} --size ${size}`;
  const table = calibrationMarkdown(report, command, new Date().toISOString().slice(0, 10));
  const bench = await readFile(BENCH_MD, 'utf8').catch(() => `${TABLE_START}\n${TABLE_END}\n`);
  const at = bench.indexOf(TABLE_START);
  const end = bench.indexOf(TABLE_END);
  if (at < 0 || end < at) throw new Error(`${BENCH_MD} has lost its ${TABLE_START} … ${TABLE_END} markers`);
  await writeFile(BENCH_MD, `${bench.slice(0, at + TABLE_START.length)}\n${table}${bench.slice(end)}`);
  await mkdir(fileURLToPath(new URL('../../bench-results/', import.meta.url)), { recursive: true });
  await writeFile(CALIBRATION_JSON, `${JSON.stringify({ command, ...report, cleanFailures: report.cleanFailures.map((f) => ({ seed: f.seed, prompt: f.prompt, verdict: f.verdict })) }, null, 2)}\n`);
  io.stdout(table);
  return report.rows.every((r) => r.meetsRequirement) ? EXIT.ok : EXIT.failed;
}

/** Clips done of total, clips/s and ETA on stderr. */
class ProgressBar {
  private lastDraw = 0;
  private lastDecile = -1;

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  update(p: ExportProgress): void {
    if (p.status === 'start') {
      this.write(`world: exporting ${p.total} clips with ${p.workers === 0 ? 'the main thread' : `${p.workers} worker${p.workers === 1 ? '' : 's'}`}\n`);
      return;
    }
    if (p.status === 'done' && this.tty) {
      this.write('\n');
      return;
    }
    if (p.status !== 'clip') return;
    const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
    const eta = rate > 0 ? (p.total - p.done) / rate : Infinity;
    const status = `${p.done}/${p.total} clips · ${rate.toFixed(1)} clips/s · ETA ${formatSeconds(eta)}`;
    if (this.tty) {
      // Redraw at most ~10 times a second: drawing every clip would cost more than it shows.
      const now = p.elapsedMs;
      if (p.done < p.total && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round((width * p.done) / p.total);
      this.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${status}`);
      return;
    }
    const decile = Math.floor((10 * p.done) / p.total);
    // The start line stands for 0 %; after it, one line per tenth (and the last clip).
    if (decile === this.lastDecile || decile === 0) return;
    this.lastDecile = decile;
    this.write(`world: ${status} (${Math.floor((100 * p.done) / p.total)}%)\n`);
  }
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const controller = new AbortController();
  // First Ctrl-C cancels cleanly (temp files removed); a second one kills as usual.
  process.once('SIGINT', () => controller.abort());
  const code = await runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stderrIsTTY: process.stderr.isTTY === true,
    signal: controller.signal,
  });
  process.exitCode = code;
}
