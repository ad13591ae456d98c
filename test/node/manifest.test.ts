import { describe, expect, it } from 'vitest';
import { manifestFiles, manifestTotalBytes, MAX_SHARD_BYTES, parseManifest, parseManifestJson, ValidationError, type Manifest } from '../../contracts/index.ts';

const sha = (c: string) => c.repeat(64);
const graph = (name: string, shards: number) => ({
  file: `${name}.onnx`,
  bytes: 12_000,
  sha256: sha('1'),
  externalData: Array.from({ length: shards }, (_, i) => ({ file: `${name}.onnx.data.${i}`, bytes: 1_000_000, sha256: sha('2') })),
  inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 16] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 16] }],
});

export const MANIFEST = {
  manifestVersion: 1,
  id: 'zoetrope-draft',
  version: '0.1.0',
  license: 'Apache-2.0',
  tier: 'draft',
  graphs: { textEncoder: graph('text_encoder', 1), denoiser: graph('denoiser', 2), videoDecoder: graph('video_decoder', 1), audioDecoder: graph('audio_decoder', 0) },
  tokenizer: { file: 'tokenizer.json', bytes: 5000, sha256: sha('3'), kind: 'word' },
  sampler: { method: 'flow-euler', steps: 4, guidance: 2, timesteps: [1, 0.75, 0.5, 0.25, 0] },
  tokens: { frames: 24, videoNumbers: 256, audioNumbers: 8 },
  output: { fps: 12, width: 128, height: 128, sampleRate: 16000, audioChannels: 1, maxDurationS: 4 },
} satisfies Record<string, unknown>;

function issuesOf(value: unknown): string[] {
  try {
    parseManifest(value);
  } catch (error) {
    if (error instanceof ValidationError) return error.issues.map((i) => `${i.field} ${i.message}`);
    throw error;
  }
  return [];
}

describe('model manifest', () => {
  it('accepts a complete manifest and lists every file to verify, tokenizer first', () => {
    const manifest: Manifest = parseManifest(MANIFEST);
    const files = manifestFiles(manifest).map((f) => f.file);
    expect(files[0]).toBe('tokenizer.json');
    expect(files).toHaveLength(1 + 4 + 4);
    expect(manifestTotalBytes(manifest)).toBe(5000 + 4 * 12_000 + 4 * 1_000_000);
  });

  it('refuses shards over 32 MiB', () => {
    const big = structuredClone(MANIFEST);
    big.graphs.denoiser.externalData[1]!.bytes = MAX_SHARD_BYTES + 1;
    expect(issuesOf(big)).toEqual(['manifest.graphs.denoiser.externalData[1].bytes must be at most 33554432 bytes (32 MiB)']);
  });

  it('refuses paths that escape the model folder and files listed twice', () => {
    const bad = structuredClone(MANIFEST);
    bad.graphs.videoDecoder.file = '../secrets.onnx';
    bad.graphs.audioDecoder.file = 'denoiser.onnx';
    expect(issuesOf(bad)).toEqual([
      'manifest.graphs.videoDecoder.file must be a relative path inside the model folder',
      'manifest.graphs.audioDecoder.file denoiser.onnx is listed twice',
    ]);
  });

  it('checks the distilled schedule against the step count', () => {
    const bad = structuredClone(MANIFEST);
    bad.sampler.timesteps = [1, 0.5, 0.6, 0];
    expect(issuesOf(bad)).toEqual(['manifest.sampler.timesteps must list steps + 1 = 5 values', 'manifest.sampler.timesteps must decrease strictly']);
  });

  it('takes a temperature whose latent and head slot lie in the video part, and names one that does not', () => {
    const temperature = { scale: 0.8, firstSteps: 1, latent: { channels: 4, side: 8 }, head: { at: 250, mean: [0.4, 0.5, 0.6], std: [0.4, 0.3, 0.2] }, across: 0.11, above: 0.09, below: 0.38 };
    const good = { ...structuredClone(MANIFEST), sampler: { ...MANIFEST.sampler, temperature } };
    expect(parseManifest(good).sampler.temperature).toEqual(temperature);
    expect(parseManifest(MANIFEST).sampler.temperature).toBeUndefined();
    const bad = { ...good, sampler: { ...good.sampler, temperature: { ...temperature, scale: 1.5, latent: { channels: 4, side: 9 }, head: { ...temperature.head, at: 254, std: [0.4, 0, 0.2] } } } };
    expect(issuesOf(bad)).toEqual([
      'manifest.sampler.temperature.scale must be at most 1',
      'manifest.sampler.temperature.head.std[1] must be above 0',
      "manifest.sampler.temperature.latent is 4 × 9² = 324 numbers, more than the video part's 256",
      'manifest.sampler.temperature.head.at must leave the head\'s presence, x and y inside the video part (256 numbers), got 254',
    ]);
  });

  it('names a missing graph, a bad hash and an unknown dtype', () => {
    const bad = structuredClone(MANIFEST) as Record<string, unknown> & typeof MANIFEST;
    const { audioDecoder: _gone, ...graphs } = bad.graphs;
    bad.graphs = graphs as typeof bad.graphs;
    bad.tokenizer.sha256 = 'abc';
    (bad.graphs.textEncoder.inputs[0] as { dtype: string }).dtype = 'float64';
    expect(issuesOf(bad)).toEqual([
      'manifest.graphs.textEncoder.inputs[0].dtype must be one of float32, float16, int64, int32, uint8, bool',
      'manifest.graphs.audioDecoder is required',
      'manifest.tokenizer.sha256 must be a lowercase hex sha256',
    ]);
  });

  it('reports JSON that does not parse', () => {
    expect(() => parseManifestJson('{"id": ')).toThrow(/manifest is not valid JSON/);
  });
});
