import { expect } from 'chai';
import { wrap, type Remote } from 'comlink';
import { UnsupportedError } from '../../contracts/index.ts';
import { registerErrorTransfer } from '../../workers/src/index.ts';
import { TINY_MLP, tinyMlpInput, tinyMlpModel, tinyMlpReference } from '../fixtures/tiny-mlp.ts';
import type { OnnxBackendsApi, RunResult } from './onnx-backends.worker.ts';

registerErrorTransfer();

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] ?? NaN) - (b[i] ?? NaN));
    max = Number.isNaN(d) ? Infinity : Math.max(max, d);
  }
  return max;
}

describe('onnxruntime-web in a module worker', () => {
  let worker: Worker;
  let engine: Remote<OnnxBackendsApi>;
  const batch = 3;
  const model = tinyMlpModel();
  const input = tinyMlpInput(batch);
  const reference = tinyMlpReference(input);
  const results: Partial<Record<'webgpu' | 'wasm', RunResult>> = {};

  before(() => {
    worker = new Worker(new URL('./onnx-backends.worker.ts', import.meta.url), { type: 'module' });
    engine = wrap<OnnxBackendsApi>(worker);
  });
  after(() => worker.terminate());

  it('runs cross-origin isolated with a WebGPU adapter and WASM threads', async () => {
    expect(await engine.environment()).to.deep.equal({ crossOriginIsolated: true, sharedArrayBuffer: true, webgpuAdapter: true, wasmThreads: 2 });
  });

  for (const backend of ['wasm', 'webgpu'] as const) {
    it(`computes the graph on ${backend} to within 1e-4 of the float64 reference`, async () => {
      const result = await engine.run(model, backend, input, [batch, TINY_MLP.inputSize]);
      expect(result.inputNames).to.deep.equal(['x']);
      expect(Object.keys(result.outputs).sort()).to.deep.equal(['logits', 'probs']);
      expect(maxAbsDiff(result.outputs['logits']!, reference.logits)).to.be.below(1e-4);
      expect(maxAbsDiff(result.outputs['probs']!, reference.probs)).to.be.below(1e-5);
      results[backend] = result;
    });
  }

  it('gives the same outputs on WebGPU and WASM', () => {
    const { webgpu, wasm } = results;
    if (!webgpu || !wasm) throw new Error('both backends must have run');
    expect(maxAbsDiff(webgpu.outputs['logits']!, wasm.outputs['logits']!)).to.be.below(1e-4);
    expect(maxAbsDiff(webgpu.outputs['probs']!, wasm.outputs['probs']!)).to.be.below(1e-5);
  });

  it('rebuilds a worker-side UnsupportedError on the page with its fields', async () => {
    const error = await engine.run(model, 'webgl', input, [batch, TINY_MLP.inputSize]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(UnsupportedError);
    expect(error).to.include({ code: 'unsupported', feature: 'the webgl backend' });
  });
});
