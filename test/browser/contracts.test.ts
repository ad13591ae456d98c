import { expect } from 'chai';
import { gaussianNoise, parseRemixLink, recipeIdOf, remixLinkWithRecipe, sha256Hex, verifyConsentToken, signConsentToken } from '../../contracts/index.ts';
import { consentClaims, makeSigningKey, NOW_S } from '../fixtures/consent.ts';
import { DRAFT_RECIPE, DRAFT_RECIPE_ID } from '../fixtures/recipes.ts';

interface Vectors {
  normals: { seed: number; stream: number; offset: number; count: number; float32Bits: string[] }[];
  digests: { seed: number; stream: number; offset: number; count: number; sha256OfFloat32LE: string }[];
}

describe('contracts in Chromium', () => {
  it('serves the page cross-origin isolated', () => {
    expect(self.crossOriginIsolated).to.equal(true);
  });

  it('draws noise bit-identical to the published vectors (so to Node and PyTorch)', async () => {
    const vectors = (await (await fetch(new URL('../../contracts/noise-vectors.json', import.meta.url))).json()) as Vectors;
    for (const c of vectors.normals) {
      const values = gaussianNoise(c.seed, c.stream, c.count, c.offset);
      const bits = Array.from(new Uint32Array(values.buffer), (b) => b.toString(16).padStart(8, '0'));
      expect(bits).to.deep.equal(c.float32Bits);
    }
    for (const c of vectors.digests) {
      const values = gaussianNoise(c.seed, c.stream, c.count, c.offset);
      expect(await sha256Hex(new Uint8Array(values.buffer))).to.equal(c.sha256OfFloat32LE);
    }
  });

  it('computes the pinned recipe id and round-trips a remix link', async () => {
    expect(await recipeIdOf(DRAFT_RECIPE)).to.equal(DRAFT_RECIPE_ID);
    const parsed = parseRemixLink(remixLinkWithRecipe(location.origin, DRAFT_RECIPE));
    expect(parsed.kind === 'recipe' && (await recipeIdOf(parsed.recipe))).to.equal(DRAFT_RECIPE_ID);
  });

  it('verifies an Ed25519 consent token with the browser WebCrypto', async () => {
    const owner = await makeSigningKey('browser-key');
    const token = await signConsentToken(consentClaims({ aud: '*' }), owner.privateKey, owner.kid);
    const claims = await verifyConsentToken(token, owner.jwks, { audience: 'anyone', scope: 'generate', now: new Date((NOW_S + 1) * 1000) });
    expect(claims.sub).to.equal('cameo_ownerface01');
  });
});
