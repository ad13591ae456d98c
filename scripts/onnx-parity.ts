/**
 * `npm run parity -- --model DIR --parity FILE`: runs each graph of an exported model with
 * onnxruntime-node on the inputs PyTorch saved at export (`npm run export -- ... --parity FILE`) and
 * reports the largest difference from PyTorch's outputs. Exit 1 when one exceeds the tolerance.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { GRAPH_ROLES } from '../contracts/index.ts';
import { OnnxModel } from '../render/onnx-model.ts';
import type { PlainTensor } from '../workers/src/engine/generate.ts';

interface JsonTensor {
  dtype: 'float32' | 'int64';
  shape: number[];
  data: number[];
}
type ParityFile = Record<string, { inputs: Record<string, JsonTensor>; outputs: Record<string, JsonTensor> }>;

export interface ParityReport {
  readonly model: string;
  readonly tolerance: number;
  readonly graphs: Record<string, { output: string; maxAbsDiff: number; maxAbs: number }[]>;
  readonly pass: boolean;
}

export async function checkParity(modelDir: string, parityPath: string, tolerance = 1e-3): Promise<ParityReport> {
  const model = await OnnxModel.load(modelDir);
  const cases = JSON.parse(await readFile(parityPath, 'utf8')) as ParityFile;
  const graphs: ParityReport['graphs'] = {};
  let pass = true;
  for (const role of GRAPH_ROLES) {
    const c = cases[role];
    if (!c) throw new RangeError(`${parityPath} has no case for the ${role} graph`);
    const feeds: Record<string, PlainTensor> = {};
    for (const [name, t] of Object.entries(c.inputs)) {
      feeds[name] = t.dtype === 'int64' ? { type: 'int64', data: BigInt64Array.from(t.data, (v) => BigInt(v)), dims: t.shape } : { type: 'float32', data: Float32Array.from(t.data), dims: t.shape };
    }
    const out = await model.run(role, feeds);
    graphs[role] = Object.entries(c.outputs).map(([name, expected]) => {
      const got = out[name]?.data as Float32Array | undefined;
      if (!got || got.length !== expected.data.length) throw new RangeError(`${role} output ${name}: expected ${expected.data.length} values, got ${got?.length ?? 'none'}`);
      let maxAbsDiff = 0;
      let maxAbs = 0;
      expected.data.forEach((v, i) => {
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs((got[i] as number) - v));
        maxAbs = Math.max(maxAbs, Math.abs(v));
      });
      if (maxAbsDiff > tolerance) pass = false;
      return { output: name, maxAbsDiff, maxAbs };
    });
  }
  await model.release();
  return { model: modelDir, tolerance, graphs, pass };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { model: { type: 'string' }, parity: { type: 'string' }, tolerance: { type: 'string' }, json: { type: 'string' } } });
  if (!values.model || !values.parity) {
    console.error('usage: npm run parity -- --model DIR --parity FILE [--tolerance 1e-3] [--json OUT]');
    return 2;
  }
  const report = await checkParity(values.model, values.parity, values.tolerance ? Number(values.tolerance) : undefined);
  for (const [role, outputs] of Object.entries(report.graphs)) {
    for (const o of outputs) console.log(`${role.padEnd(13)} ${o.output.padEnd(9)} max |onnxruntime − pytorch| = ${o.maxAbsDiff.toExponential(2)} (values up to ${o.maxAbs.toFixed(3)})`);
  }
  console.log(report.pass ? `parity: every output within ${report.tolerance}` : `parity: FAILED (tolerance ${report.tolerance})`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
  return report.pass ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`parity: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
