/**
 * `npm run bench:engine [-- --model DIR --clips N --steps S --backends wasm,webgpu]` → bench-results/engine.json
 *
 * Cold load (network → IndexedDB), warm load (IndexedDB), per-step and per-clip time on WASM and on
 * WebGPU in this machine's Chromium, and onnxruntime-node on the same model, side by side. Targets
 * (the in-browser engine issue): warm load ≤ 10% of cold; WASM per step ≤ 2× onnxruntime-node;
 * a 2 s Draft clip end to end (load excluded) ≤ 15 s on WASM.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startDevServer } from '@web/dev-server';
import puppeteer from 'puppeteer-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, ISOLATION_HEADERS } from '../test/browser/chromium.ts';
import { browserTestConfig } from '../test/browser/web-test-runner.config.ts';
import { OnnxModel } from '../render/onnx-model.ts';
import { CHROMIUM, ensureDebianPackages } from './system-packages.ts';

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n: s.length, mean: r(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)), p50: r(s[Math.floor(s.length / 2)] ?? NaN), max: r(s[s.length - 1] ?? NaN) };
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string' }, clips: { type: 'string' }, steps: { type: 'string' }, backends: { type: 'string' }, out: { type: 'string' }, 'download-mbps': { type: 'string' } } });
  // The page's network, emulated: a cold load from 127.0.0.1 costs no download time at all.
  const downloadMbps = Number(values['download-mbps'] ?? 50);
  if (!(downloadMbps > 0)) throw new RangeError(`--download-mbps must be a positive number (got ${values['download-mbps']})`);
  const modelDir = resolve(values.model ?? ((await stat('model-shards/zoetrope-draft/manifest.json').catch(() => null)) ? 'model-shards/zoetrope-draft' : 'test/fixtures/tiny-model'));
  const clips = Number(values.clips ?? 2);
  const steps = values.steps ? Number(values.steps) : undefined;
  const backends = values.backends ?? 'wasm,webgpu';
  ensureDebianPackages([CHROMIUM]);
  const manifest = JSON.parse(await readFile(join(modelDir, 'manifest.json'), 'utf8')) as { id: string; version: string };

  // onnxruntime-node on the same model.
  let t0 = performance.now();
  const node = await OnnxModel.load(modelDir);
  const nodeLoadMs = performance.now() - t0;
  const nodeSteps: number[] = [];
  const nodeClips: number[] = [];
  for (let c = 0; c <= clips; c++) {
    t0 = performance.now();
    let last = t0;
    const times: number[] = [];
    await node.generate({ prompt: 'A static wide shot in a gym. A red ball falls and bounces.', seed: 100 + c, steps, onStep: () => {
      const now = performance.now();
      times.push(now - last);
      last = now;
    } });
    if (c > 0) {
      nodeClips.push(performance.now() - t0);
      nodeSteps.push(...times.slice(1));
    }
  }
  await node.release();

  // Chromium: the engine worker served with the model mounted at /__bench-model/.
  const server = await startDevServer({
    config: {
      rootDir: browserTestConfig.rootDir,
      hostname: '127.0.0.1',
      port: 8765,
      nodeResolve: browserTestConfig.nodeResolve,
      plugins: browserTestConfig.plugins,
      middleware: [
        async (ctx, next) => {
          for (const [k, v] of Object.entries(ISOLATION_HEADERS)) ctx.set(k, v);
          if (ctx.path === '/bench-engine.html') {
            ctx.type = 'html';
            ctx.body = '<!doctype html><script type="module" src="/test/browser/bench/engine-bench.page.ts"></script>';
            return;
          }
          if (ctx.path.startsWith('/__bench-model/')) {
            const file = ctx.path.slice('/__bench-model/'.length);
            if (!/^[\w.-]+$/.test(file)) return void (ctx.status = 404);
            ctx.type = 'application/octet-stream';
            ctx.body = await readFile(join(modelDir, file)).catch(() => undefined);
            if (ctx.body === undefined) ctx.status = 404;
            return;
          }
          await next();
        },
      ],
    },
    readCliArgs: false,
    readFileConfig: false,
    logStartMessage: false,
  });
  const browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS], protocolTimeout: 1_800_000 });
  let browserResult: unknown;
  try {
    const page = await browser.newPage();
    await page.emulateNetworkConditions({ download: (downloadMbps * 1e6) / 8, upload: (downloadMbps * 1e6) / 8 / 4, latency: 30 });
    page.on('console', (m) => m.type() === 'error' && console.error(`chromium: ${m.text()}`));
    await page.goto(`http://127.0.0.1:8765/bench-engine.html?clips=${clips}&backends=${backends}${steps ? `&steps=${steps}` : ''}`);
    await page.waitForFunction('window.__benchResult || window.__benchError', { timeout: 1_800_000, polling: 500 });
    const error = await page.evaluate('window.__benchError');
    if (error) throw new Error(`the browser bench failed: ${String(error)}`);
    browserResult = await page.evaluate('window.__benchResult');
  } finally {
    await browser.close();
    await server.stop();
  }
  const br = browserResult as { crossOriginIsolated: boolean; hardwareConcurrency: number; results: { backend: string; coldLoadMs: number; warmLoadMs: number; warmSources: string[]; stepMs: number[]; clipMs: number[]; timings: unknown; fallbacks: string[]; error?: string }[] };
  const nodeStep = stats(nodeSteps);
  const byBackend = Object.fromEntries(
    br.results.map((r) => [
      r.backend,
      {
        error: r.error,
        coldLoadMs: Math.round(r.coldLoadMs),
        warmLoadMs: Math.round(r.warmLoadMs),
        warmOverCold: Math.round((r.warmLoadMs / r.coldLoadMs) * 1000) / 1000,
        warmLoadFromCache: r.warmSources.length === 1 && r.warmSources[0] === 'cache',
        stepMs: stats(r.stepMs),
        clipMs: stats(r.clipMs),
        stepOverNode: Math.round((stats(r.stepMs).p50 / nodeStep.p50) * 100) / 100,
        lastClipTimings: r.timings,
        fallbacks: r.fallbacks,
      },
    ]),
  );
  const wasm = byBackend['wasm'] as { warmOverCold: number; stepOverNode: number; clipMs: { p50: number } } | undefined;
  const report = {
    bench: 'engine',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim(), node: process.version, loadAvg1m: Math.round(loadavg()[0]! * 100) / 100 },
    model: { dir: modelDir, id: manifest.id, version: manifest.version },
    clips,
    steps: steps ?? 'manifest default',
    network: { downloadMbps, latencyMs: 30 },
    chromium: { crossOriginIsolated: br.crossOriginIsolated, hardwareConcurrency: br.hardwareConcurrency },
    onnxruntimeNode: { loadMs: Math.round(nodeLoadMs), stepMs: nodeStep, clipMs: stats(nodeClips) },
    browser: byBackend,
    targets: wasm
      ? {
          warmLoadAtMost10PercentOfCold: wasm.warmOverCold <= 0.1,
          wasmStepAtMost2xNode: wasm.stepOverNode <= 2,
          wasmClipAtMost15s: wasm.clipMs.p50 <= 15_000,
        }
      : null,
  };
  const out = values.out ?? 'bench-results/engine.json';
  await mkdir('bench-results', { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
}

main().catch((error: unknown) => {
  console.error(`bench:engine: ${(error as Error).message}`);
  process.exit(1);
});
