/**
 * A module worker that runs an ONNX graph on a chosen onnxruntime-web backend. Used by the browser
 * layer to check WebGPU and WASM against each other and against a float64 reference.
 */
import { expose } from 'comlink';
import * as ort from 'onnxruntime-web/webgpu';
import { UnsupportedError } from '../../contracts/index.ts';
import { registerErrorTransfer } from '../../workers/src/index.ts';

registerErrorTransfer();
// Explicit, as DESIGN.md advises: the default depends on hardwareConcurrency and isolation.
ort.env.wasm.numThreads = self.crossOriginIsolated ? 2 : 1;

export type Backend = 'webgpu' | 'wasm';

export interface RunResult {
  readonly outputs: Record<string, Float32Array>;
  readonly inputNames: readonly string[];
}

const api = {
  async environment() {
    const adapter = 'gpu' in navigator ? await navigator.gpu.requestAdapter() : null;
    return {
      crossOriginIsolated: self.crossOriginIsolated,
      sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
      webgpuAdapter: adapter !== null,
      wasmThreads: ort.env.wasm.numThreads,
    };
  },

  async run(model: Uint8Array, backend: string, input: Float32Array, dims: number[]): Promise<RunResult> {
    if (backend !== 'webgpu' && backend !== 'wasm') throw new UnsupportedError({ feature: `the ${backend} backend` });
    const session = await ort.InferenceSession.create(model, { executionProviders: [backend], graphOptimizationLevel: 'all' });
    try {
      const results = await session.run({ x: new ort.Tensor('float32', input, dims) });
      const outputs: Record<string, Float32Array> = {};
      for (const name of session.outputNames) {
        const tensor = results[name];
        if (!tensor) throw new Error(`output ${name} is missing`);
        outputs[name] = new Float32Array((await tensor.getData()) as Float32Array);
        tensor.dispose();
      }
      return { outputs, inputNames: session.inputNames };
    } finally {
      await session.release();
    }
  },
};

export type OnnxBackendsApi = typeof api;
expose(api);
