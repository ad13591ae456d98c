/**
 * `npm test`: installs what the layers need, runs every layer in turn (even after a failure, so one
 * run shows everything), prints a table and, last and alone on its line, `N passed, N failed, N skipped`.
 * Exits non-zero on any failure.
 *
 *   npm test                      every layer
 *   npm test -- node edge         only the named layers (checks, node, edge, browser, e2e, python)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OFFLINE_WRANGLER_ENV } from './offline-env.ts';
import { CHROMIUM, DEBIAN_PYTHON, ensureDebianPackages, OPENBLAS_OPENMP, PYTHON_ONNX, TORCH } from './system-packages.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

interface Layer {
  readonly name: string;
  run(scratch: string): Promise<Counts>;
}

/** Runs a command with inherited output; resolves with its exit code. */
function exec(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...OFFLINE_WRANGLER_ENV, ...env } });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Runs a command capturing stdout+stderr (also echoed); resolves with exit code and text. */
function execCapture(command: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...OFFLINE_WRANGLER_ENV } });
    let output = '';
    const take = (chunk: Buffer, to: NodeJS.WriteStream) => {
      output += chunk.toString();
      to.write(chunk);
    };
    child.stdout.on('data', (c: Buffer) => take(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => take(c, process.stderr));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** A pass/fail check (typecheck, lint, …) counts as one test. */
function check(name: string, command: string, args: readonly string[]) {
  return async (): Promise<Counts> => {
    console.log(`\n› ${name}: ${[command.replace(`${root}node_modules/.bin/`, ''), ...args].join(' ')}`);
    const ok = (await exec(command, args)) === 0;
    return { passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0 };
  };
}

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
}

function vitestLayer(name: 'node' | 'edge' | 'e2e'): Layer {
  return {
    name,
    async run(scratch) {
      const report = join(scratch, `${name}.json`);
      const code = await exec(bin('vitest'), ['run', '--config', `test/${name}/vitest.config.ts`, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`]);
      const json = JSON.parse(await readFile(report, 'utf8').catch(() => 'null')) as VitestJson | null;
      if (!json) return { passed: 0, failed: 1, skipped: 0 };
      // A file that fails to import has no tests: count it, and count a non-zero exit with no failures.
      const failed = json.numFailedTests + json.numFailedTestSuites + (code !== 0 && json.numFailedTests + json.numFailedTestSuites === 0 ? 1 : 0);
      return { passed: json.numPassedTests, failed, skipped: json.numPendingTests + json.numTodoTests };
    },
  };
}

const LAYERS: Record<string, Layer> = {
  checks: {
    name: 'checks',
    async run() {
      const results = [
        await check('typecheck', bin('tsc'), ['-b'])(),
        await check('lint', bin('eslint'), ['--max-warnings', '0', '.'])(),
        await check('edge Env types match wrangler.toml', bin('wrangler'), ['types', 'edge/worker-configuration.d.ts', '--include-runtime=false', '--strict-vars=false', '--check'])(),
        await check('noise test vectors match the code', bin('tsx'), ['scripts/noise-vectors.ts', '--check'])(),
      ];
      return results.reduce((a, b) => ({ passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: 0 }));
    },
  },
  node: vitestLayer('node'),
  edge: vitestLayer('edge'),
  browser: {
    name: 'browser',
    async run(scratch) {
      const summary = join(scratch, 'browser.json');
      const code = await exec(bin('tsx'), ['test/browser/run.ts', '--summary', summary]);
      const counts = JSON.parse(await readFile(summary, 'utf8').catch(() => 'null')) as Counts | null;
      if (!counts) return { passed: 0, failed: 1, skipped: 0 };
      return code !== 0 && counts.failed === 0 ? { ...counts, failed: 1 } : counts;
    },
  },
  e2e: vitestLayer('e2e'),
  python: {
    name: 'python',
    async run() {
      // Debian's python3: the one python3-torch installs into (the first python3 on PATH may be another).
      const { code, output } = await execCapture(DEBIAN_PYTHON.provides, ['-m', 'unittest', 'discover', '-v', '-s', 'model-shards/training/tests', '-t', 'model-shards/training']);
      const ran = Number(/^Ran (\d+) tests?/m.exec(output)?.[1] ?? 0);
      const tally = (key: string) => Number(new RegExp(`${key}=(\\d+)`).exec(/^(?:OK|FAILED).*$/m.exec(output)?.[0] ?? '')?.[1] ?? 0);
      const failed = tally('failures') + tally('errors') + (code !== 0 && ran === 0 ? 1 : 0);
      const skipped = tally('skipped');
      return { passed: Math.max(0, ran - failed - skipped), failed, skipped };
    },
  },
};

const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = requested.filter((n) => !(n in LAYERS));
if (unknown.length > 0) {
  console.error(`unknown test layer(s) ${unknown.join(', ')}: choose from ${Object.keys(LAYERS).join(', ')}`);
  process.exit(2);
}
const selected = requested.length > 0 ? requested.map((n) => LAYERS[n]!) : Object.values(LAYERS);

const needs = [...(selected.some((l) => l.name === 'browser' || l.name === 'e2e') ? [CHROMIUM] : []), ...(selected.some((l) => l.name === 'python') ? [DEBIAN_PYTHON, TORCH, OPENBLAS_OPENMP, PYTHON_ONNX] : [])];
ensureDebianPackages(needs);

const scratch = await mkdtemp(join(tmpdir(), 'zoetrope-test-'));
const rows: { layer: string; counts: Counts; seconds: number }[] = [];
try {
  for (const layer of selected) {
    console.log(`\n━━ ${layer.name} ━━`);
    const start = performance.now();
    let counts: Counts;
    try {
      counts = await layer.run(scratch);
    } catch (error) {
      console.error(`the ${layer.name} layer could not run:`, error);
      counts = { passed: 0, failed: 1, skipped: 0 };
    }
    rows.push({ layer: layer.name, counts, seconds: (performance.now() - start) / 1000 });
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}

const total = rows.reduce((t, r) => ({ passed: t.passed + r.counts.passed, failed: t.failed + r.counts.failed, skipped: t.skipped + r.counts.skipped }), { passed: 0, failed: 0, skipped: 0 });
console.log('\nlayer     passed  failed  skipped  seconds');
for (const r of rows) {
  console.log(`${r.layer.padEnd(9)} ${String(r.counts.passed).padStart(6)}  ${String(r.counts.failed).padStart(6)}  ${String(r.counts.skipped).padStart(7)}  ${r.seconds.toFixed(1).padStart(7)}`);
}
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed === 0 && total.passed > 0 ? 0 : 1);
