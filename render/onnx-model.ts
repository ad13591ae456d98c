import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GRAPH_ROLES, IntegrityError, manifestFiles, parseManifestJson, ValidationError, WordTokenizer, type GraphRole, type Manifest } from '../contracts/index.ts';
import { generateClip, type GeneratedClip, type GenerateRequest, type GraphRunner, type PlainTensor } from '../workers/src/engine/generate.ts';

/**
 * A model folder (manifest.json, ONNX graphs, shards, tokenizer) run with onnxruntime-node: the
 * reference generator, the parity check and the Pro render node. Every file is checked against the
 * manifest's sha256 before a session opens; generation itself is the engine's shared generateClip.
 */
export type { GeneratedClip, GenerateRequest as GenerateOptions } from '../workers/src/engine/generate.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export async function verifyModelFolder(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch (error) {
    throw new ValidationError([{ field: 'model', message: `has no readable manifest.json in ${dir} (${(error as Error).message})` }]);
  }
  const manifest = parseManifestJson(text);
  for (const f of manifestFiles(manifest)) {
    const bytes = new Uint8Array(await readFile(join(dir, f.file)));
    const actual = sha256(bytes);
    if (bytes.length !== f.bytes || actual !== f.sha256) throw new IntegrityError({ url: join(dir, f.file), expected: `${f.sha256} (${f.bytes} bytes)`, actual: `${actual} (${bytes.length} bytes)` });
  }
  return manifest;
}

export class OnnxModel implements GraphRunner {
  private constructor(
    readonly manifest: Manifest,
    readonly tokenizer: WordTokenizer,
    private readonly sessions: Record<GraphRole, ort.InferenceSession>,
  ) {}

  static async load(dir: string, options: ort.InferenceSession.SessionOptions = {}): Promise<OnnxModel> {
    const manifest = await verifyModelFolder(dir);
    const tokenizer = WordTokenizer.parse(JSON.parse(await readFile(join(dir, manifest.tokenizer.file), 'utf8')));
    const sessions = {} as Record<GraphRole, ort.InferenceSession>;
    for (const role of GRAPH_ROLES) {
      sessions[role] = await ort.InferenceSession.create(join(dir, manifest.graphs[role].file), { graphOptimizationLevel: 'all', ...options });
    }
    return new OnnxModel(manifest, tokenizer, sessions);
  }

  async run(role: GraphRole, feeds: Record<string, PlainTensor>): Promise<Record<string, PlainTensor>> {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = t.type === 'int64' ? new ort.Tensor('int64', t.data as BigInt64Array, t.dims) : new ort.Tensor('float32', t.data as Float32Array, t.dims);
    const out = await this.sessions[role].run(inputs);
    const result: Record<string, PlainTensor> = {};
    for (const [name, t] of Object.entries(out)) result[name] = { type: t.type === 'int64' ? 'int64' : 'float32', data: t.data as Float32Array, dims: t.dims };
    return result;
  }

  generate(request: GenerateRequest): Promise<GeneratedClip> {
    return generateClip(this, this.manifest, this.tokenizer, request);
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }
}
