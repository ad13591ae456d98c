import { expect } from 'chai';
import { proxy, wrap, type Remote } from 'comlink';
import { CanceledError } from '../../contracts/index.ts';
import type { EngineApi } from '../../workers/src/engine/engine.worker.ts';
import * as ort from 'onnxruntime-web/webgpu';
import { ShardLoader } from '../../workers/src/engine/shard-loader.ts';
import { WebModel } from '../../workers/src/engine/web-model.ts';
import { registerErrorTransfer } from '../../workers/src/index.ts';

registerErrorTransfer();

/** The tiny exported model (same graphs and names as the Draft), served by model-server.ts. */
const BASE = `${location.origin}/__model/0.0.1/`;

function psnr(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).to.equal(b.length);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += ((a[i] ?? 0) - (b[i] ?? 0)) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

function startEngine(): { worker: Worker; engine: Remote<EngineApi> } {
  const worker = new Worker(new URL('../../workers/src/engine/engine.worker.ts', import.meta.url), { type: 'module' });
  return { worker, engine: wrap<EngineApi>(worker) };
}

describe('generation engine in a worker (tiny model)', () => {
  const db = `zoetrope-engine-test-${Date.now()}`;
  const workers: Worker[] = [];
  const clips: Partial<Record<'wasm' | 'webgpu', Uint8Array>> = {};
  after(() => workers.forEach((w) => w.terminate()));

  it('loads the model verified and generates the same clip twice from one recipe on WASM', async () => {
    const { worker, engine } = startEngine();
    workers.push(worker);
    const report = await engine.load({ baseUrl: BASE, backend: 'wasm', dbName: db });
    expect(report.backend).to.equal('wasm');
    expect(report.modelId).to.equal('zoetrope-tiny');
    expect(report.manifestSha256).to.match(/^[0-9a-f]{64}$/);
    const a = await engine.generate({ prompt: 'a ball bounces', seed: 7 });
    const b = await engine.generate({ prompt: 'a ball bounces', seed: 7 });
    expect(a.frames.length).to.equal(12 * 32 * 32 * 3);
    expect(a.audio.length).to.equal(24_000);
    expect(psnr(a.frames, b.frames)).to.equal(Infinity);
    expect([...a.audio]).to.deep.equal([...b.audio]);
    clips.wasm = a.frames;
  });

  it('makes the same clip on WebGPU as on WASM (PSNR ≥ 35 dB)', async () => {
    const { worker, engine } = startEngine();
    workers.push(worker);
    const report = await engine.load({ baseUrl: BASE, backend: 'webgpu', dbName: db });
    expect(report.backend).to.equal('webgpu');
    // A second load of the same version comes from IndexedDB.
    expect(Object.values(report.sources).every((s) => s === 'cache')).to.equal(true);
    const clip = await engine.generate({ prompt: 'a ball bounces', seed: 7 });
    clips.webgpu = clip.frames;
    expect(clip.fallbacks).to.deep.equal([]);
    expect(psnr(clips.wasm!, clip.frames)).to.be.at.least(35);
    // The tokens stayed on the GPU between steps: read back once, at the end.
    expect(clip.tokenReadsFromGpu).to.equal(1);
    // With previews, once per step more (the guess the preview decodes), and the same clip.
    const previewed = await engine.generate({ prompt: 'a ball bounces', seed: 7, preview: true }, proxy(() => undefined));
    expect(previewed.tokenReadsFromGpu).to.equal(1 + 4);
    expect(psnr(clip.frames, previewed.frames)).to.equal(Infinity);
  });

  it('carries the job on to WASM when the GPU device is lost mid-generation', async () => {
    const loader = new ShardLoader({ baseUrl: BASE, dbName: db });
    const { manifest } = await loader.loadManifest();
    const loaded = await loader.load(manifest);
    loader.close();
    const reasons: string[] = [];
    const model = await WebModel.create(loaded, { backend: 'webgpu', wasmThreads: 1, onFallback: (reason) => reasons.push(reason) });
    const steps: number[] = [];
    const clip = await model.generate({
      prompt: 'a ball bounces',
      seed: 7,
      onStep: async (step) => {
        steps.push(step);
        // What a driver reset or a GPU process crash does to the page's device.
        if (step === 2 && model.backend === 'webgpu') (await ort.env.webgpu.device).destroy();
      },
    });
    expect(model.backend).to.equal('wasm');
    expect(reasons).to.have.length(1);
    // The sampler started again on WASM from the same noise: the clip is the WASM clip.
    expect(psnr(clips.wasm!, clip.frames)).to.equal(Infinity);
    expect(steps.slice(-4)).to.deep.equal([1, 2, 3, 4]);
    await model.release();
  });

  it('sends a preview frame with each step when asked', async () => {
    const { worker, engine } = startEngine();
    workers.push(worker);
    await engine.load({ baseUrl: BASE, backend: 'wasm', dbName: db });
    const sizes: number[] = [];
    await engine.generate({ prompt: 'a ball bounces', seed: 5, preview: true }, proxy((_step: number, _steps: number, preview?: { rgb: Uint8Array }) => void sizes.push(preview?.rgb.length ?? 0)));
    expect(sizes).to.deep.equal([3072, 3072, 3072, 3072]);
  });

  it('stops within one step when canceled', async () => {
    const { worker, engine } = startEngine();
    workers.push(worker);
    await engine.load({ baseUrl: BASE, backend: 'wasm', dbName: db });
    const steps: number[] = [];
    const run = engine.generate(
      { prompt: 'a ball bounces', seed: 3, steps: 40 },
      proxy((step: number) => {
        steps.push(step);
        if (step === 2) void engine.cancel();
      }),
    );
    const error = await run.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CanceledError);
    expect(Math.max(...steps)).to.be.at.most(3);
    // Nothing is left running: the next request goes through.
    const clip = await engine.generate({ prompt: 'a ball bounces', seed: 3, steps: 2 });
    expect(clip.frames.length).to.equal(12 * 32 * 32 * 3);
  });
});
