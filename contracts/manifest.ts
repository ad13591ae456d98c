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

const Triple = z.tuple([z.number(), z.number(), z.number()]);
export const TemperatureSchema = z.strictObject({
  scale: z.number().gt(0, 'must be above 0').max(1),
  firstSteps: z.int().min(1).max(100),
  /** The background latent at the start of each frame token: channels × side × side numbers, channel-major. */
  latent: z.strictObject({ channels: z.int().min(1), side: z.int().min(1).max(256) }),
  /** The figure's head slot: where its presence number sits in a frame token (x and y follow), and its statistics. */
  head: z.strictObject({ at: z.int().min(0), mean: Triple, std: z.tuple([z.number().gt(0, 'must be above 0'), z.number().gt(0, 'must be above 0'), z.number().gt(0, 'must be above 0')]) }),
  across: z.number().min(0).max(1),
  above: z.number().min(0).max(1),
  below: z.number().min(0).max(1),
});
export type Temperature = z.output<typeof TemperatureSchema>;

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
      /**
       * The background latent drawn at a lower temperature, except around a figure. A first draw of
       * `firstSteps` from the clip's noise finds the figure's head slot (present > 0.5, x, y: the
       * normalised token times `std` plus `mean`); the second draw, the clip, starts from the same
       * noise with the latent's numbers times `scale` (rounded to float32), except on the cells whose
       * centre is within `across` of the head's x and from `above` over it to `below` under it
       * (shares of the side), on each frame that shows the head and one frame either side.
       */
      temperature: TemperatureSchema.optional(),
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
    const temperature = m.sampler.temperature;
    if (temperature) {
      const { channels, side } = temperature.latent;
      if (channels * side * side > m.tokens.videoNumbers) {
        ctx.addIssue({ code: 'custom', path: ['sampler', 'temperature', 'latent'], message: `is ${channels} × ${side}² = ${channels * side * side} numbers, more than the video part's ${m.tokens.videoNumbers}` });
      }
      if (temperature.head.at + 3 > m.tokens.videoNumbers) {
        ctx.addIssue({ code: 'custom', path: ['sampler', 'temperature', 'head', 'at'], message: `must leave the head's presence, x and y inside the video part (${m.tokens.videoNumbers} numbers), got ${temperature.head.at}` });
      }
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
