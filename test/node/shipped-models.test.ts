import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manifestFiles, manifestTotalBytes, MAX_SHARD_BYTES, parseManifestJson } from '../../contracts/index.ts';

// Every model folder committed under model-shards/ is what users download (the Draft) or what render
// nodes load (Pro): its manifest must parse, every file must be there with the bytes and sha256 it
// names (a shard stored as a Git LFS pointer, or edited by hand, fails here rather than in a tab).
const ROOT = 'model-shards';
const shipped = readdirSync(ROOT).filter((name) => statSync(join(ROOT, name)).isDirectory() && statSync(join(ROOT, name, 'manifest.json'), { throwIfNoEntry: false }));
// The Draft runs in a browser tab: its download stays under 40 MB (the budget).
const DRAFT_MAX_BYTES = 40_000_000;

describe('shipped model folders', () => {
  it('are the Draft and Pro', () => {
    expect(shipped.sort()).toEqual(['zoetrope-draft', 'zoetrope-pro']);
  });

  for (const name of shipped) {
    it(`${name}: every file has the bytes and sha256 its manifest names, shards within the limit`, () => {
      const manifest = parseManifestJson(readFileSync(join(ROOT, name, 'manifest.json'), 'utf8'));
      expect(manifest.id).toBe(name);
      for (const file of manifestFiles(manifest)) {
        const bytes = readFileSync(join(ROOT, name, file.file));
        expect(bytes.length, file.file).toBe(file.bytes);
        expect(createHash('sha256').update(bytes).digest('hex'), file.file).toBe(file.sha256);
        expect(file.bytes, file.file).toBeLessThanOrEqual(MAX_SHARD_BYTES);
      }
      const card = readFileSync(join(ROOT, name, 'MODEL_CARD.md'), 'utf8');
      expect(card).toContain(`# ${name} ${manifest.version}`);
      if (manifest.tier === 'draft') expect(manifestTotalBytes(manifest)).toBeLessThan(DRAFT_MAX_BYTES);
    });
  }

  it('Pro draws more and longer than the Draft', () => {
    const read = (name: string) => parseManifestJson(readFileSync(join(ROOT, name, 'manifest.json'), 'utf8'));
    const draft = read('zoetrope-draft');
    const pro = read('zoetrope-pro');
    expect([draft.tier, pro.tier]).toEqual(['draft', 'pro']);
    expect(pro.output.width).toBeGreaterThanOrEqual(256);
    expect(pro.output.maxDurationS).toBeGreaterThanOrEqual(4);
    expect(draft.output.width).toBeGreaterThanOrEqual(128);
    expect(pro.sampler.steps).toBeGreaterThan(draft.sampler.steps);
  });
});
