import * as ort from 'onnxruntime-web/webgpu';
import { GRAPH_ROLES, UnsupportedError, WordTokenizer, type GraphRole, type Manifest } from '../../../contracts/index.ts';
import type { Capabilities } from '../capabilities.ts';
import { BadOutputError, checkOutput, generateClip, type GeneratedClip, type GenerateRequest, type GraphRunner, type PlainTensor } from './generate.ts';
import type { LoadedModel } from './shard-loader.ts';

/**
 * A verified model (from the shard loader) run with onnxruntime-web: one session per graph, on
 * WebGPU when the device has an adapter, else WASM. One generation at a time. Outputs are checked
 * (NaN, ∞, and the all-zeros a silently failed WebGPU pass returns); when WebGPU fails — an error,
 * a lost device, bad numbers — the sessions are recreated on WASM and the step runs again there,
 * so the job carries on.
 */
export type Backend = 'webgpu' | 'wasm';

export function chooseBackend(caps: Pick<Capabilities, 'webgpu' | 'maxBufferSize'>, manifest: Manifest): Backend {
  // The largest single weight must fit a GPU buffer (≥ 1 GiB fails on WebGPU, DESIGN.md).
  const largestShard = Math.max(...GRAPH_ROLES.flatMap((r) => manifest.graphs[r].externalData.map((s) => s.bytes)), 0);
  return caps.webgpu && caps.maxBufferSize > largestShard ? 'webgpu' : 'wasm';
}

export interface WebModelOptions {
  readonly backend: Backend;
  /** WASM threads (set explicitly, as DESIGN.md advises). */
  readonly wasmThreads: number;
  /** Called when the engine leaves WebGPU for WASM, with the reason. */
  readonly onFallback?: (reason: string) => void;
}

export class WebModel implements GraphRunner {
  private sessions: Partial<Record<GraphRole, ort.InferenceSession>> = {};
  private busy = false;
  private _backend: Backend;

  private constructor(
    readonly model: LoadedModel,
    readonly tokenizer: WordTokenizer,
    private readonly options: WebModelOptions,
  ) {
    this._backend = options.backend;
  }

  static async create(model: LoadedModel, options: WebModelOptions): Promise<WebModel> {
    ort.env.wasm.numThreads = options.wasmThreads;
    const tokenizerBytes = model.files.get(model.manifest.tokenizer.file);
    if (!tokenizerBytes) throw new RangeError(`the loaded model lacks ${model.manifest.tokenizer.file}`);
    const web = new WebModel(model, WordTokenizer.parse(JSON.parse(new TextDecoder().decode(tokenizerBytes))), options);
    await web.openSessions();
    return web;
  }

  get backend(): Backend {
    return this._backend;
  }

  get manifest(): Manifest {
    return this.model.manifest;
  }

  private async openSessions(): Promise<void> {
    const { manifest, files } = this.model;
    const file = (name: string) => {
      const bytes = files.get(name);
      if (!bytes) throw new RangeError(`the loaded model lacks ${name}`);
      return bytes;
    };
    for (const role of GRAPH_ROLES) {
      const graph = manifest.graphs[role];
      this.sessions[role] = await ort.InferenceSession.create(file(graph.file), {
        executionProviders: [this._backend],
        graphOptimizationLevel: 'all',
        externalData: graph.externalData.map((s) => ({ path: s.file, data: file(s.file) })),
      });
    }
  }

  private async closeSessions(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => s?.release()));
    this.sessions = {};
  }

  /** Leaves WebGPU for WASM (recreating every session) and says why. */
  private async fallBack(reason: string): Promise<void> {
    this.options.onFallback?.(reason);
    await this.closeSessions();
    this._backend = 'wasm';
    await this.openSessions();
  }

  async run(role: GraphRole, feeds: Record<string, PlainTensor>): Promise<Record<string, PlainTensor>> {
    try {
      return await this.runOnce(role, feeds);
    } catch (error) {
      if (this._backend !== 'webgpu') throw error;
      await this.fallBack(error instanceof BadOutputError ? error.message : `WebGPU failed (${(error as Error).message})`);
      return this.runOnce(role, feeds);
    }
  }

  private async runOnce(role: GraphRole, feeds: Record<string, PlainTensor>): Promise<Record<string, PlainTensor>> {
    const session = this.sessions[role];
    if (!session) throw new RangeError(`no session for the ${role} graph`);
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = t.type === 'int64' ? new ort.Tensor('int64', t.data as BigInt64Array, t.dims) : new ort.Tensor('float32', t.data as Float32Array, t.dims);
    const out = await session.run(inputs);
    const result: Record<string, PlainTensor> = {};
    for (const [name, t] of Object.entries(out)) {
      const data = (await t.getData()) as Float32Array | BigInt64Array;
      result[name] = { type: t.type === 'int64' ? 'int64' : 'float32', data: data instanceof BigInt64Array ? data : Float32Array.from(data), dims: t.dims };
      t.dispose();
    }
    // Checked here, inside the fallback's reach: a bad WebGPU output sends the step to WASM.
    for (const [name, t] of Object.entries(result)) checkOutput(role, name, t);
    return result;
  }

  async generate(request: GenerateRequest): Promise<GeneratedClip> {
    if (this.busy) throw new UnsupportedError({ feature: 'two generations at once on one model (wait for the first)' });
    this.busy = true;
    try {
      return await generateClip(this, this.model.manifest, this.tokenizer, request);
    } finally {
      this.busy = false;
    }
  }

  async release(): Promise<void> {
    await this.closeSessions();
  }
}
