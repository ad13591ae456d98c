/**
 * The browser half of `npm run bench:engine`: loads the model cold (network → IndexedDB) and warm
 * (IndexedDB) in the engine worker, then times generation per step and per clip, on WASM and on
 * WebGPU. Results go to window.__benchResult for the Node half to collect.
 */
import { proxy, wrap } from 'comlink';
import type { EngineApi } from '../../../workers/src/engine/engine.worker.ts';
import { registerErrorTransfer } from '../../../workers/src/index.ts';

registerErrorTransfer();

interface BackendResult {
  backend: string;
  coldLoadMs: number;
  warmLoadMs: number;
  warmSources: string[];
  stepMs: number[];
  clipMs: number[];
  timings: unknown;
  fallbacks: string[];
  error?: string;
}

async function benchBackend(base: string, backend: 'wasm' | 'webgpu', clips: number, steps: number | undefined): Promise<BackendResult> {
  const db = `zoetrope-bench-${backend}-${Date.now()}`;
  const start = () => {
    const worker = new Worker(new URL('../../../workers/src/engine/engine.worker.ts', import.meta.url), { type: 'module' });
    return { worker, engine: wrap<EngineApi>(worker) };
  };
  const cold = start();
  const coldReport = await cold.engine.load({ baseUrl: base, backend, dbName: db });
  cold.worker.terminate();
  const warm = start();
  const warmReport = await warm.engine.load({ baseUrl: base, backend, dbName: db });
  const stepMs: number[] = [];
  const clipMs: number[] = [];
  let timings: unknown = null;
  let fallbacks: string[] = [];
  // Clip 0 warms the sessions up (V8 tiering, kernel compilation) and is not counted.
  for (let c = 0; c <= clips; c++) {
    const t0 = performance.now();
    let last = t0;
    const stepTimes: number[] = [];
    const clip = await warm.engine.generate(
      { prompt: 'A static wide shot in a gym. A red ball falls and bounces.', seed: 100 + c, steps },
      proxy(() => {
        const now = performance.now();
        stepTimes.push(now - last);
        last = now;
      }),
    );
    if (c > 0) {
      clipMs.push(performance.now() - t0);
      stepMs.push(...stepTimes.slice(1));
      timings = clip.timings;
      fallbacks = clip.fallbacks;
    }
  }
  warm.worker.terminate();
  return { backend: warmReport.backend, coldLoadMs: coldReport.loadMs, warmLoadMs: warmReport.loadMs, warmSources: [...new Set(Object.values(warmReport.sources))], stepMs, clipMs, timings, fallbacks };
}

declare global {
  interface Window {
    __benchResult?: unknown;
    __benchError?: string;
  }
}

const params = new URLSearchParams(location.search);
const base = `${location.origin}/__bench-model/`;
const clips = Number(params.get('clips') ?? 2);
const steps = params.get('steps') ? Number(params.get('steps')) : undefined;
const backends = (params.get('backends') ?? 'wasm,webgpu').split(',') as ('wasm' | 'webgpu')[];
(async () => {
  const results: BackendResult[] = [];
  for (const b of backends) {
    try {
      results.push(await benchBackend(base, b, clips, steps));
    } catch (error) {
      results.push({ backend: b, coldLoadMs: NaN, warmLoadMs: NaN, warmSources: [], stepMs: [], clipMs: [], timings: null, fallbacks: [], error: (error as Error).message });
    }
  }
  window.__benchResult = { crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency, results };
})().catch((error: unknown) => {
  window.__benchError = (error as Error).message;
});
