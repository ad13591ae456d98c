import { z } from 'zod';
import { ModelIdSchema, SemverSchema, Sha256HexSchema } from './recipe.ts';
import { ValidationError } from './errors.ts';
import { parseOrThrow } from './validation.ts';

/**
 * `model-shards/<model>/manifest.json`: what a model is made of, with a sha256 for every byte the
 * engine will load. The engine trusts nothing this manifest does not hash.
 */
export const MANIFEST_VERSION = 1;
/** Largest external-data shard: keeps each fetch resumable and each IndexedDB blob modest. */
export const MAX_SHARD_BYTES = 32 * 1024 * 1024;
export const GRAPH_ROLES = ['textEncoder', 'denoiser', 'videoDecoder', 'audioDecoder'] as const;
export type GraphRole = (typeof GRAPH_ROLES)[number];

/** A path inside the model's folder: no absolute paths, no `..`, no backslashes. */
const RelativeFileSchema = z
  .string()
  .regex(/^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._/-]{1,200}$/, 'must be a relative path inside the model folder');

export const FileRefSchema = z.strictObject({
  file: RelativeFileSchema,
  bytes: z.int().min(0, 'must be a byte count'),
  sha256: Sha256HexSchema,
});

export const ShardSchema = FileRefSchema.extend({
  bytes: z.int().min(1, 'must be a byte count').max(MAX_SHARD_BYTES, `must be at most ${MAX_SHARD_BYTES} bytes (32 MiB)`),
});

export const TENSOR_DTYPES = ['float32', 'float16', 'int64', 'int32', 'uint8', 'bool'] as const;
export const TensorSpecSchema = z.strictObject({
  name: z.string().min(1),
  dtype: z.enum(TENSOR_DTYPES),
  /** Fixed sizes, or a symbolic name for a dimension fixed at run time (e.g. "frames"). */
  shape: z.array(z.union([z.int().min(1), z.string().regex(/^[a-z][a-zA-Z0-9_]*$/)])),
});

export const GraphSchema = FileRefSchema.extend({
  externalData: z.array(ShardSchema),
  inputs: z.array(TensorSpecSchema).min(1, 'must list the graph inputs'),
  outputs: z.array(TensorSpecSchema).min(1, 'must list the graph outputs'),
});

export const ManifestSchema = z
  .strictObject({
    manifestVersion: z.literal(MANIFEST_VERSION, { error: `must be ${MANIFEST_VERSION}` }),
    id: ModelIdSchema,
    version: SemverSchema,
    license: z.string().min(1, 'must name the license'),
    tier: z.enum(['draft', 'pro']),
    graphs: z.strictObject({
      textEncoder: GraphSchema,
      denoiser: GraphSchema,
      videoDecoder: GraphSchema,
      audioDecoder: GraphSchema,
    }),
    tokenizer: FileRefSchema.extend({ kind: z.enum(['bpe', 'wordpiece', 'word']) }),
    sampler: z.strictObject({
      method: z.enum(['flow-euler', 'flow-heun', 'consistency']),
      steps: z.int().min(1).max(100),
      guidance: z.number().min(0).max(20),
      /** The distilled schedule: timesteps from noise (1) to data (0), one more than `steps`. */
      timesteps: z.array(z.number().min(0).max(1)).min(2),
    }),
    /** The denoiser's frame tokens: per frame, the video latent then the audio latent (the initial noise draws them from separate streams). */
    tokens: z.strictObject({
      frames: z.int().min(1).max(1024),
      videoNumbers: z.int().min(1),
      audioNumbers: z.int().min(0),
    }),
    output: z.strictObject({
      fps: z.int().min(1).max(60),
      width: z.int().min(16).max(1024),
      height: z.int().min(16).max(1024),
      sampleRate: z.int().min(8000).max(48000),
      audioChannels: z.int().min(1).max(2),
      maxDurationS: z.number().min(1).max(60),
    }),
  })
  .superRefine((m, ctx) => {
    const { timesteps, steps } = m.sampler;
    if (timesteps.length !== steps + 1) ctx.addIssue({ code: 'custom', path: ['sampler', 'timesteps'], message: `must list steps + 1 = ${steps + 1} values` });
    if (timesteps.some((t, i) => i > 0 && t >= (timesteps[i - 1] ?? Infinity))) {
      ctx.addIssue({ code: 'custom', path: ['sampler', 'timesteps'], message: 'must decrease strictly' });
    }
    const seen = new Set<string>([m.tokenizer.file]);
    for (const role of GRAPH_ROLES) {
      for (const [i, ref] of [m.graphs[role], ...m.graphs[role].externalData].entries()) {
        if (seen.has(ref.file)) {
          ctx.addIssue({ code: 'custom', path: ['graphs', role, ...(i === 0 ? [] : ['externalData', i - 1]), 'file'], message: `${ref.file} is listed twice` });
        }
        seen.add(ref.file);
      }
    }
  });

export type Manifest = z.output<typeof ManifestSchema>;
export type FileRef = z.output<typeof FileRefSchema>;
export type GraphSpec = z.output<typeof GraphSchema>;
export type TensorSpec = z.output<typeof TensorSpecSchema>;

export function parseManifest(value: unknown): Manifest {
  return parseOrThrow(ManifestSchema, value, 'manifest');
}

/** Parses manifest.json bytes (what the engine downloads) with a clear error for non-JSON. */
export function parseManifestJson(text: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError([{ field: 'manifest', message: `is not valid JSON (${(error as Error).message})` }]);
  }
  return parseManifest(value);
}

/** Every file the engine must fetch and verify for this model, tokenizer first. */
export function manifestFiles(manifest: Manifest): FileRef[] {
  return [manifest.tokenizer, ...GRAPH_ROLES.flatMap((role) => [manifest.graphs[role], ...manifest.graphs[role].externalData])].map(
    ({ file, bytes, sha256 }) => ({ file, bytes, sha256 }),
  );
}

export function manifestTotalBytes(manifest: Manifest): number {
  return manifestFiles(manifest).reduce((sum, f) => sum + f.bytes, 0);
}
