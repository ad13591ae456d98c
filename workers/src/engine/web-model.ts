import * as ort from 'onnxruntime-web/webgpu';
import { CanceledError, GRAPH_ROLES, UnsupportedError, WordTokenizer, type GraphRole, type Manifest } from '../../../contracts/index.ts';
import type { Capabilities } from '../capabilities.ts';
import { guidedEulerGraph } from './euler-graph.ts';
import { BadOutputError, checkOutput, generateClip, type GeneratedClip, type GenerateRequest, type GraphRunner, type PlainTensor, type ResidentSampling } from './generate.ts';
import type { LoadedModel } from './shard-loader.ts';

/**
 * A verified model (from the shard loader) run with onnxruntime-web: one session per graph, on
 * WebGPU when the device has an adapter, else WASM. One generation at a time. Outputs are checked
 * (NaN, ∞, and the all-zeros a silently failed WebGPU pass returns); when WebGPU fails — an error,
 * a lost device, bad numbers — the sessions are recreated on WASM and the work runs again there,
 * so the job carries on.
 *
 * On WebGPU the sampler keeps the tokens on the GPU from the first step to the last: the denoiser
 * writes its velocity to a GPU buffer (`preferredOutputLocation: 'gpu-buffer'`), a small guided
 * Euler graph (euler-graph.ts) turns it into the next tokens on the GPU, and only the final tokens
 * (and a preview's guess, when asked) are read back. Those final tokens are checked; if they are
 * bad, or a step fails, the sampler starts again on WASM from the same noise.
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
  private eulerSessions = new Map<number, ort.InferenceSession>();
  private busy = false;
  /** Reads of tokens back from the GPU in the last clip's resident sampling (1 a draw without previews: its result). */
  lastResidentReads = 0;
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
        // The denoiser's velocity stays on the GPU for the on-GPU sampler step.
        ...(role === 'denoiser' && this._backend === 'webgpu' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
      });
    }
  }

  private async closeSessions(): Promise<void> {
    // allSettled: after a lost GPU device, releasing its sessions may fail too; they are gone either way.
    await Promise.allSettled([...Object.values(this.sessions), ...this.eulerSessions.values()].map((s) => s?.release()));
    this.sessions = {};
    this.eulerSessions.clear();
  }

  private async eulerSession(batch: number, frames: number, dim: number): Promise<ort.InferenceSession> {
    let session = this.eulerSessions.get(batch);
    if (!session) {
      session = await ort.InferenceSession.create(guidedEulerGraph(batch, frames, dim), { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
      this.eulerSessions.set(batch, session);
    }
    return session;
  }

  async sampleResident(job: ResidentSampling): Promise<Float32Array | null> {
    if (this._backend !== 'webgpu') return null;
    try {
      const tokens = await this.sampleOnGpu(job);
      checkOutput('denoiser', 'tokens', { type: 'float32', data: tokens, dims: [job.frames, job.dim] });
      return tokens;
    } catch (error) {
      if (error instanceof CanceledError) throw error;
      await this.fallBack(error instanceof BadOutputError ? error.message : `WebGPU failed while sampling (${(error as Error).message})`);
      return null;
    }
  }

  private async sampleOnGpu(job: ResidentSampling): Promise<Float32Array> {
    const { batch, frames, dim, timesteps, guidance } = job;
    const denoiser = this.sessions.denoiser;
    if (!denoiser) throw new RangeError('no session for the denoiser graph');
    const euler = await this.eulerSession(batch, frames, dim);
    const cpu = (t: PlainTensor) => new ort.Tensor('float32', t.data as Float32Array, t.dims);
    const text = { text: cpu(job.text.text), pooled: cpu(job.text.pooled), mask: cpu(job.text.mask) };
    const weights = new ort.Tensor('float32', batch === 2 ? new Float32Array([guidance, 1 - guidance]) : new Float32Array([1]), [batch, 1, 1]);
    const rows = new Float32Array(job.noise.length * batch);
    for (let b = 0; b < batch; b++) rows.set(job.noise, b * job.noise.length);
    let xb: ort.Tensor = new ort.Tensor('float32', rows, [batch, frames, dim]);
    let x: ort.Tensor | null = null;
    const steps = timesteps.length - 1;
    const read = async (t: ort.Tensor) => {
      this.lastResidentReads++;
      return Float32Array.from((await t.getData()) as Float32Array);
    };
    try {
      for (let i = 0; i < steps; i++) {
        if (job.signal?.aborted) throw new CanceledError('generation was canceled');
        const t0 = timesteps[i] as number;
        const dt = (timesteps[i + 1] as number) - t0;
        const { velocity } = await denoiser.run({ x: xb, t: new ort.Tensor('float32', new Float32Array(batch).fill(t0), [batch]), ...text });
        if (!velocity) throw new RangeError('the denoiser returned no velocity');
        const out = await euler.run({ xb, v: velocity, w: weights, dt: new ort.Tensor('float32', new Float32Array([dt]), [1]), t0: new ort.Tensor('float32', new Float32Array([t0]), [1]) });
        velocity.dispose();
        if (xb.location === 'gpu-buffer') xb.dispose();
        x?.dispose();
        xb = out.xb_next as ort.Tensor;
        x = out.x as ort.Tensor;
        const predicted = out.predicted as ort.Tensor;
        const guess = job.wantPredicted ? await read(predicted) : undefined;
        predicted.dispose();
        await job.onStep?.(i + 1, steps, guess);
      }
      if (job.signal?.aborted) throw new CanceledError('generation was canceled');
      if (!x) throw new RangeError('the sampler ran no steps');
      return await read(x);
    } finally {
      if (xb.location === 'gpu-buffer') xb.dispose();
      x?.dispose();
    }
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
    // Counted over the clip's draws (two at a temperature: the first that finds the figure, then the clip).
    this.lastResidentReads = 0;
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
