import { encodeOnnxModel } from './onnx-writer.ts';

/**
 * The sampler's guided Euler step as a small ONNX graph, so that on WebGPU the tokens never leave
 * the GPU between steps: the denoiser's velocity (a GPU buffer) goes straight into this step, whose
 * output feeds the next denoiser run. Built at run time for the model's token shape.
 *
 * Inputs: `xb` [B, F, D] the current tokens (B identical rows, one per prompt the denoiser sees),
 * `v` [B, F, D] the velocities (conditioned first), `w` [B, 1, 1] the guidance weights (g, 1 − g;
 * or 1 without guidance), `dt` and `t0` [1].
 * Outputs: `x` [1, F, D] the next tokens, `predicted` [1, F, D] the clean-clip guess x − t0·v (for
 * previews), `xb` [B, F, D] the next tokens repeated for the next denoiser run.
 *
 * Opset 11, whose ReduceSum/ReduceMean take their axes as attributes: every value here is float32.
 */
export function guidedEulerGraph(batch: number, frames: number, dim: number): Uint8Array {
  if (!Number.isInteger(batch) || batch < 1 || batch > 2) throw new RangeError(`the sampler step takes 1 or 2 prompts (got ${batch})`);
  return encodeOnnxModel({
    name: `zoetrope-euler-b${batch}`,
    opset: 11,
    inputs: [
      { name: 'xb', shape: [batch, frames, dim] },
      { name: 'v', shape: [batch, frames, dim] },
      { name: 'w', shape: [batch, 1, 1] },
      { name: 'dt', shape: [1] },
      { name: 't0', shape: [1] },
    ],
    outputs: [
      { name: 'x', shape: [1, frames, dim] },
      { name: 'predicted', shape: [1, frames, dim] },
      { name: 'xb_next', shape: [batch, frames, dim] },
    ],
    nodes: [
      { op: 'Mul', inputs: ['v', 'w'], outputs: ['vw'] },
      // The guided velocity: g·v_cond + (1 − g)·v_uncond = v_uncond + g·(v_cond − v_uncond).
      { op: 'ReduceSum', inputs: ['vw'], outputs: ['vg'], attributes: { axes: [0], keepdims: 1 } },
      // The rows of xb are identical; their mean is that row exactly (a + a is exact, and so is ÷ 2).
      { op: 'ReduceMean', inputs: ['xb'], outputs: ['x_now'], attributes: { axes: [0], keepdims: 1 } },
      { op: 'Mul', inputs: ['vg', 'dt'], outputs: ['step'] },
      { op: 'Add', inputs: ['x_now', 'step'], outputs: ['x'] },
      { op: 'Mul', inputs: ['vg', 't0'], outputs: ['back'] },
      { op: 'Sub', inputs: ['x_now', 'back'], outputs: ['predicted'] },
      { op: 'Add', inputs: ['x', 'rows'], outputs: ['xb_next'] },
    ],
    initializers: [{ name: 'rows', dims: [batch, 1, 1], data: new Float32Array(batch) }],
  });
}
