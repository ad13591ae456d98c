import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  canonicalRecipeJson,
  normalizePrompt,
  parseRecipe,
  parseRemixLink,
  recipeIdOf,
  remixLinkById,
  remixLinkWithRecipe,
  ValidationError,
  withoutConsentTokens,
  type Recipe,
} from '../../contracts/index.ts';
import { DRAFT_RECIPE, DRAFT_RECIPE_ID } from '../fixtures/recipes.ts';

function validationOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

const with_ = (patch: Record<string, unknown>): unknown => ({ ...DRAFT_RECIPE, ...patch });

describe('canonical JSON', () => {
  it('sorts keys at every depth, drops undefined members and adds no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: null, y: 'é' }], c: undefined }, ä: true })).toBe('{"a":{"d":[3,{"y":"é","z":null}]},"b":1,"ä":true}');
  });

  it('writes numbers in shortest round-trip form and refuses non-finite ones', () => {
    expect(canonicalJson([1.5, 1e21, -0, 0.1 + 0.2])).toBe('[1.5,1e+21,0,0.30000000000000004]');
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/no representation for NaN/);
  });
});

describe('Recipe v1', () => {
  it('has a content id that is pinned across releases and runtimes', async () => {
    expect(await recipeIdOf(DRAFT_RECIPE)).toBe(DRAFT_RECIPE_ID);
    // Key order of the input object does not matter; content does.
    const reordered = Object.fromEntries(Object.entries(DRAFT_RECIPE).reverse()) as Recipe;
    expect(await recipeIdOf(reordered)).toBe(DRAFT_RECIPE_ID);
    expect(await recipeIdOf({ ...DRAFT_RECIPE, seed: 8 })).not.toBe(DRAFT_RECIPE_ID);
  });

  it('accepts multi-shot recipes whose shots add up, cameos and a parent', () => {
    const recipe = parseRecipe(
      with_({
        durationS: 4,
        shots: [
          { prompt: 'Wide: a basketball arcs toward the hoop', durationS: 2.5 },
          { prompt: 'Close: it swishes through the net', durationS: 1.5 },
        ],
        cameos: [{ cameoId: 'cameo_abcdef12', consentToken: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln' }],
        parent: DRAFT_RECIPE_ID,
      }),
    );
    expect(recipe.shots).toHaveLength(2);
    expect(canonicalRecipeJson(recipe)).toContain('"parent":"' + DRAFT_RECIPE_ID + '"');
  });

  it.each([
    [{ durationS: 11 }, 'recipe.durationS must be 1–10'],
    [{ durationS: 'two' }, 'recipe.durationS must be a number'],
    [{ seed: -1 }, 'recipe.seed must be an integer 0–4294967295'],
    [{ seed: 2 ** 32 }, 'recipe.seed must be an integer 0–4294967295'],
    [{ seed: 1.5 }, 'recipe.seed must be an integer 0–4294967295'],
    [{ width: 130 }, 'recipe.width must be a multiple of 16'],
    [{ fps: 0 }, 'recipe.fps must be 1–60'],
    [{ steps: 2.5 }, 'recipe.steps must be an integer 1–100'],
    [{ prompt: '' }, 'recipe.prompt must not be empty'],
    [{ prompt: '  padded ' }, 'recipe.prompt must be trimmed, NFC-normalised text'],
    [{ v: 2 }, 'recipe.v must be 1'],
    [{ parent: 'not-an-id' }, 'recipe.parent must be a recipe id'],
    [{ model: { ...DRAFT_RECIPE.model, manifestSha256: 'XYZ' } }, 'recipe.model.manifestSha256 must be a lowercase hex sha256'],
    [{ cameos: [{ cameoId: 'cameo_abcdef12', consentToken: 'nope' }] }, 'recipe.cameos[0].consentToken must be a compact JWS'],
    [{ shots: [{ prompt: 'one shot', durationS: 1 }] }, 'recipe.shots must add up to durationS (2 s), not 1 s'],
    [{ extra: 1 }, 'recipe has unknown field extra'],
  ])('refuses %j with a message naming the field', (patch, message) => {
    const error = validationOf(() => parseRecipe(with_(patch)));
    expect(error.message).toContain(message);
    expect(error.code).toBe('invalid_input');
    expect(error.field).toMatch(/^recipe/);
  });

  it('says which fields are missing', () => {
    const { seed: _seed, prompt: _prompt, ...rest } = DRAFT_RECIPE;
    const error = validationOf(() => parseRecipe(rest));
    expect(error.issues.map((i) => `${i.field} ${i.message}`)).toEqual(['recipe.prompt is required', 'recipe.seed is required']);
  });

  it('refuses a cameo listed twice', () => {
    const cameo = { cameoId: 'cameo_abcdef12', consentToken: 'a.b.c' };
    expect(validationOf(() => parseRecipe(with_({ cameos: [cameo, cameo] }))).field).toBe('recipe.cameos[1].cameoId');
  });

  it('normalises typed prompts to the stored form', () => {
    expect(normalizePrompt('  Cafe\u0301\tball\n\n bounces  ')).toBe('Café ball bounces');
    expect(parseRecipe(with_({ prompt: normalizePrompt(' a\u0000ball ') })).prompt).toBe('a ball');
  });
});

describe('a recipe inside a file', () => {
  it('keeps each cameo id and drops its consent token, leaving the rest as it was', () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    const recipe = { ...DRAFT_RECIPE, cameos: [{ cameoId: 'cam_a', consentToken: token }, { cameoId: 'cam_b', consentToken: token }] };
    const shared = withoutConsentTokens(recipe);
    expect(shared).toEqual({ ...DRAFT_RECIPE, cameos: [{ cameoId: 'cam_a' }, { cameoId: 'cam_b' }] });
    expect(JSON.stringify(shared)).not.toContain(token);
    expect(recipe.cameos[0]?.consentToken).toBe(token); // the caller's recipe is not changed
  });

  it('passes anything else through', () => {
    expect(withoutConsentTokens(DRAFT_RECIPE)).toEqual(DRAFT_RECIPE);
    expect(withoutConsentTokens({ prompt: 'x' })).toEqual({ prompt: 'x' });
    expect(withoutConsentTokens(null)).toBeNull();
    expect(withoutConsentTokens({ cameos: [{ consentToken: 'abc' }, 7] })).toEqual({ cameos: [{}, {}] });
  });
});

describe('remix links', () => {
  it('round-trips a whole recipe through the fragment, on any origin', () => {
    const link = remixLinkWithRecipe('https://zoetrope.example', DRAFT_RECIPE);
    expect(link).toMatch(/^https:\/\/zoetrope\.example\/#recipe=[A-Za-z0-9_-]+$/);
    const parsed = parseRemixLink(link);
    expect(parsed).toEqual({ kind: 'recipe', recipe: DRAFT_RECIPE });
    expect(parseRemixLink(link.slice(link.indexOf('#')))).toEqual(parsed);
  });

  it('round-trips a server id', () => {
    const link = remixLinkById('http://localhost:5173', DRAFT_RECIPE_ID);
    expect(link).toBe(`http://localhost:5173/r/${DRAFT_RECIPE_ID}`);
    expect(parseRemixLink(link)).toEqual({ kind: 'id', recipeId: DRAFT_RECIPE_ID });
  });

  it('validates what a fragment carries and names the problem', () => {
    const tampered = remixLinkWithRecipe('https://a.example', { ...DRAFT_RECIPE }).replace(/#recipe=.*/, `#recipe=${Buffer.from(JSON.stringify(with_({ durationS: 99 }))).toString('base64url')}`);
    expect(validationOf(() => parseRemixLink(tampered)).message).toContain('recipe.durationS must be 1–10');
    expect(validationOf(() => parseRemixLink('https://a.example/#recipe=%%%')).message).toContain('link carries a recipe that is not base64url-encoded JSON');
    expect(validationOf(() => parseRemixLink('https://a.example/videos/1')).message).toContain('link is neither');
    expect(validationOf(() => parseRemixLink('https://a.example/r/short')).field).toBe('link.recipeId');
    expect(validationOf(() => parseRemixLink(`https://a.example/#recipe=${'A'.repeat(30_000)}`)).message).toContain('too large');
  });

  it('refuses to put an oversized recipe in a link', () => {
    const shots = Array.from({ length: 8 }, (_, i) => ({ prompt: `${'x'.repeat(1990)} ${i}`, durationS: 0.5 }));
    const big = parseRecipe(with_({ durationS: 4, shots, prompt: 'y'.repeat(2000) }));
    expect(validationOf(() => remixLinkWithRecipe('https://a.example', big)).message).toMatch(/recipe is too large for a link/);
  });
});
