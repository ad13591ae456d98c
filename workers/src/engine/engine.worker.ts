/**
 * The generation engine's worker: load a model (verified, cached) and generate clips from it,
 * exposed with comlink. One model and one generation at a time; `cancel()` stops the running
 * generation at its next step.
 */
import { expose, transfer } from 'comlink';
import { CanceledError, UnsupportedError } from '../../../contracts/index.ts';
import { probeCapabilities, type Capabilities } from '../capabilities.ts';
import { registerErrorTransfer } from '../error-transfer.ts';
import type { GeneratedClip, PreviewFrame } from './generate.ts';
import { ShardLoader, type FileProgress } from './shard-loader.ts';
import { chooseBackend, WebModel, type Backend } from './web-model.ts';

registerErrorTransfer();

export interface LoadOptions {
  readonly baseUrl: string;
  /** Force a backend (default: WebGPU when the device has an adapter, else WASM). */
  readonly backend?: Backend;
  readonly dbName?: string;
}

export interface LoadReport {
  readonly modelId: string;
  readonly version: string;
  readonly manifestSha256: string;
  readonly backend: Backend;
  readonly cached: boolean;
  readonly sources: Record<string, string>;
  readonly warnings: readonly string[];
  readonly capabilities: Capabilities;
  readonly loadMs: number;
}

export interface EngineRequest {
  readonly prompt: string;
  readonly seed: number;
  readonly steps?: number;
  readonly guidance?: number;
}

let model: WebModel | null = null;
let running: AbortController | null = null;
const fallbacks: string[] = [];

const api = {
  async load(options: LoadOptions, onProgress?: (p: FileProgress) => void): Promise<LoadReport> {
    const started = performance.now();
    const capabilities = await probeCapabilities();
    const loader = new ShardLoader({ baseUrl: options.baseUrl, dbName: options.dbName, onProgress: (p) => onProgress?.(p) });
    const { manifest, manifestSha256 } = await loader.loadManifest();
    const loaded = await loader.load(manifest);
    loader.close();
    await model?.release();
    const backend = options.backend ?? chooseBackend(capabilities, manifest);
    if (backend === 'webgpu' && !capabilities.webgpu) throw new UnsupportedError({ feature: 'WebGPU on this device' });
    model = await WebModel.create(loaded, { backend, wasmThreads: capabilities.wasmThreads, onFallback: (reason) => fallbacks.push(reason) });
    return {
      modelId: manifest.id,
      version: manifest.version,
      manifestSha256,
      backend: model.backend,
      cached: loaded.cached,
      sources: Object.fromEntries(loaded.sources),
      warnings: loaded.warnings,
      capabilities,
      loadMs: performance.now() - started,
    };
  },

  async generate(request: EngineRequest & { preview?: boolean }, onStep?: (step: number, steps: number, preview?: PreviewFrame) => void): Promise<GeneratedClip & { backend: Backend; fallbacks: string[]; tokenReadsFromGpu: number }> {
    if (!model) throw new UnsupportedError({ feature: 'generating before a model is loaded (call load first)' });
    if (running) throw new UnsupportedError({ feature: 'two generations at once (wait for the first, or cancel it)' });
    running = new AbortController();
    try {
      const clip = await model.generate({ ...request, signal: running.signal, onStep: async (s, n, preview) => void (await onStep?.(s, n, preview)) });
      // How often the sampler read tokens back from the GPU (on WebGPU without previews, 1 a draw: its result; 0 on WASM).
      const out = { ...clip, backend: model.backend, fallbacks: [...fallbacks], tokenReadsFromGpu: model.backend === 'webgpu' ? model.lastResidentReads : 0 };
      return transfer(out, [clip.frames.buffer, clip.audio.buffer]);
    } finally {
      running = null;
    }
  },

  /** Stops the running generation at its next step (it rejects with CanceledError); false when none runs. */
  cancel(): boolean {
    if (!running) return false;
    running.abort(new CanceledError('generation was canceled'));
    return true;
  },

  async unload(): Promise<void> {
    await model?.release();
    model = null;
  },
};

export type EngineApi = typeof api;
expose(api);
