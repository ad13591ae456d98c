import { base64urlnopad } from '@scure/base';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { sha256Base32 } from './digest.ts';
import { ValidationError } from './errors.ts';
import { parseOrThrow } from './validation.ts';

/**
 * Recipe v1: everything needed to reproduce a video on any instance. Recipes travel, not pixels.
 * The id is the base32 sha256 of the recipe's canonical JSON, so equal recipes share one id.
 */
export const RECIPE_VERSION = 1;
export const RECIPE_LIMITS = Object.freeze({
  promptChars: 2000,
  durationS: [1, 10] as const,
  fps: [1, 60] as const,
  size: [64, 1024] as const,
  steps: [1, 100] as const,
  guidance: [0, 20] as const,
  shots: 8,
  cameos: 4,
  /** Largest recipe a `#recipe=` fragment may carry, in bytes of canonical JSON. */
  fragmentBytes: 16 * 1024,
});

export const RecipeIdSchema = z.string().regex(/^[a-z2-7]{52}$/, 'must be a recipe id (52 base32 characters)');
export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');
export const ModelIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be lowercase letters, digits and dashes');
export const SemverSchema = z.string().regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'must be a version like 1.2.0');
const CameoIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be a cameo id');
const CompactJwsSchema = z.string().max(4096, 'is too long').regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a compact JWS');

const between = (lo: number, hi: number, what = 'a number') =>
  z.number({ error: `must be ${what}` }).min(lo, `must be ${lo}–${hi}`).max(hi, `must be ${lo}–${hi}`);

/** Prompt text as stored: NFC, trimmed, no control characters, so equal prompts hash alike. */
export const PromptSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(RECIPE_LIMITS.promptChars, `must be at most ${RECIPE_LIMITS.promptChars} characters`)
  .refine((s) => s === normalizePrompt(s), 'must be trimmed, NFC-normalised text without control characters');

export const ShotSchema = z.strictObject({
  prompt: PromptSchema,
  durationS: z.number().min(0.5, 'must be at least 0.5').max(RECIPE_LIMITS.durationS[1], `must be at most ${RECIPE_LIMITS.durationS[1]}`),
});

export const CameoUseSchema = z.strictObject({ cameoId: CameoIdSchema, consentToken: CompactJwsSchema });

export const RecipeSchema = z
  .strictObject({
    v: z.literal(RECIPE_VERSION, { error: `must be ${RECIPE_VERSION}` }),
    model: z.strictObject({ id: ModelIdSchema, version: SemverSchema, manifestSha256: Sha256HexSchema }),
    prompt: PromptSchema,
    seed: z.int({ error: 'must be an integer 0–4294967295' }).min(0, 'must be an integer 0–4294967295').max(0xffffffff, 'must be an integer 0–4294967295'),
    durationS: between(...RECIPE_LIMITS.durationS),
    fps: between(...RECIPE_LIMITS.fps, 'an integer').int(`must be an integer ${RECIPE_LIMITS.fps.join('–')}`),
    width: between(...RECIPE_LIMITS.size, 'an integer').multipleOf(16, 'must be a multiple of 16'),
    height: between(...RECIPE_LIMITS.size, 'an integer').multipleOf(16, 'must be a multiple of 16'),
    steps: between(...RECIPE_LIMITS.steps, 'an integer').int(`must be an integer ${RECIPE_LIMITS.steps.join('–')}`),
    guidance: between(...RECIPE_LIMITS.guidance),
    shots: z.array(ShotSchema).min(1, 'must list at least one shot').max(RECIPE_LIMITS.shots, `must list at most ${RECIPE_LIMITS.shots} shots`).optional(),
    cameos: z.array(CameoUseSchema).max(RECIPE_LIMITS.cameos, `must list at most ${RECIPE_LIMITS.cameos} cameos`),
    parent: RecipeIdSchema.nullable(),
  })
  .superRefine((r, ctx) => {
    if (r.shots) {
      const total = r.shots.reduce((sum, s) => sum + s.durationS, 0);
      if (Math.abs(total - r.durationS) > 1e-6) {
        ctx.addIssue({ code: 'custom', path: ['shots'], message: `must add up to durationS (${r.durationS} s), not ${total} s` });
      }
    }
    const seen = new Set<string>();
    r.cameos.forEach((c, i) => {
      if (seen.has(c.cameoId)) ctx.addIssue({ code: 'custom', path: ['cameos', i, 'cameoId'], message: 'appears twice' });
      seen.add(c.cameoId);
    });
  });

export type Recipe = z.output<typeof RecipeSchema>;
export type RecipeId = string;
export type Shot = z.output<typeof ShotSchema>;
export type CameoUse = z.output<typeof CameoUseSchema>;

/** How the composer should store typed text: trimmed, NFC, control characters removed. */
export function normalizePrompt(text: string): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  return text.normalize('NFC').replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/ {2,}/g, ' ').trim();
}

/** Validates anything claiming to be a recipe; throws ValidationError naming each bad field. */
export function parseRecipe(value: unknown): Recipe {
  return parseOrThrow(RecipeSchema, value, 'recipe');
}

export function canonicalRecipeJson(recipe: Recipe): string {
  return canonicalJson(parseRecipe(recipe));
}

/**
 * A recipe as it may travel inside a file (MP4 metadata, the C2PA recipe assertion): each cameo keeps
 * its `cameoId` and loses its consent token, a short-lived credential for one render that a copy of
 * the file must not hand on. A remix asks the cameo's owner for a fresh token. Values that are not a
 * recipe-shaped object pass through unchanged.
 */
export function withoutConsentTokens(recipe: unknown): unknown {
  if (typeof recipe !== 'object' || recipe === null || Array.isArray(recipe)) return recipe;
  const cameos = (recipe as { cameos?: unknown }).cameos;
  if (!Array.isArray(cameos)) return recipe;
  return {
    ...recipe,
    cameos: cameos.map((c: unknown) => {
      const id = typeof c === 'object' && c !== null ? (c as { cameoId?: unknown }).cameoId : undefined;
      return typeof id === 'string' ? { cameoId: id } : {};
    }),
  };
}

export async function recipeIdOf(recipe: Recipe): Promise<RecipeId> {
  return sha256Base32(canonicalRecipeJson(recipe));
}

/** A remix link: the server id (`/r/<id>`), or the whole recipe in the fragment (works offline, anywhere). */
export type RemixLink = { readonly kind: 'id'; readonly recipeId: RecipeId } | { readonly kind: 'recipe'; readonly recipe: Recipe };

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export function remixLinkById(origin: string, recipeId: RecipeId): string {
  parseOrThrow(RecipeIdSchema, recipeId, 'recipeId');
  return new URL(`/r/${recipeId}`, origin).href;
}

export function remixLinkWithRecipe(origin: string, recipe: Recipe): string {
  const bytes = utf8.encode(canonicalRecipeJson(recipe));
  if (bytes.length > RECIPE_LIMITS.fragmentBytes) {
    throw new ValidationError([{ field: 'recipe', message: `is too large for a link (${bytes.length} bytes, at most ${RECIPE_LIMITS.fragmentBytes})` }]);
  }
  return new URL(`/#recipe=${base64urlnopad.encode(bytes)}`, origin).href;
}

/** Reads a remix link (absolute URL, path or bare fragment) and validates what it carries. */
export function parseRemixLink(link: string): RemixLink {
  const bad = (message: string) => new ValidationError([{ field: 'link', message }]);
  let url: URL;
  try {
    url = new URL(link, 'http://localhost');
  } catch {
    throw bad('is not a URL');
  }
  const fragment = new URLSearchParams(url.hash.slice(1)).get('recipe');
  if (fragment !== null) {
    if (fragment.length > Math.ceil((RECIPE_LIMITS.fragmentBytes * 4) / 3)) throw bad('carries a recipe that is too large');
    let json: unknown;
    try {
      json = JSON.parse(utf8Strict.decode(base64urlnopad.decode(fragment)));
    } catch {
      throw bad('carries a recipe that is not base64url-encoded JSON');
    }
    return { kind: 'recipe', recipe: parseRecipe(json) };
  }
  const match = /^\/r\/([^/]+)\/?$/.exec(url.pathname);
  if (match?.[1] !== undefined) return { kind: 'id', recipeId: parseOrThrow(RecipeIdSchema, match[1], 'link.recipeId') };
  throw bad('is neither /r/<recipeId> nor #recipe=<base64url>');
}
