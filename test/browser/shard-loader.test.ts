import { expect } from 'chai';
import { IntegrityError } from '../../contracts/index.ts';
import { fileKey, openShardDb, ShardLoader, type FileProgress } from '../../workers/src/engine/shard-loader.ts';

/** The tiny exported model, served by test/browser/model-server.ts with Range and fault injection. */
const base = (version: string) => `${location.origin}/__model/${version}/`;
const control = (what: string, body?: unknown) => fetch(`/__model/${what}`, { method: body === undefined && what === '__log' ? 'GET' : 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
const requests = async () => (await (await control('__log')).json()) as { path: string; range: string | null }[];

let dbCount = 0;
const freshDb = () => `zoetrope-test-${Date.now()}-${dbCount++}`;

async function load(version: string, dbName: string, extra: Partial<ConstructorParameters<typeof ShardLoader>[0]> = {}) {
  const loader = new ShardLoader({ baseUrl: base(version), dbName, checkpointBytes: 4096, ...extra });
  const { manifest } = await loader.loadManifest();
  const model = await loader.load(manifest);
  loader.close();
  return model;
}

describe('shard loader: verified, cached, resumable', () => {
  beforeEach(async () => {
    await control('__reset', {});
  });

  it('downloads every file with progress, verified, then loads them again from IndexedDB with no request', async () => {
    const db = freshDb();
    const progress: FileProgress[] = [];
    const first = await load('1.0.0', db, { onProgress: (p) => progress.push(p) });
    expect(first.cached).to.equal(true);
    expect(first.warnings).to.deep.equal([]);
    expect(first.files.size).to.equal(9);
    expect([...first.sources.values()].every((s) => s === 'network')).to.equal(true);
    const last = progress[progress.length - 1]!;
    expect(last.overallLoaded).to.equal(last.overallTotal);
    // Per file: from 0, never backwards, up to its size; overall, never backwards.
    for (const file of first.files.keys()) {
      const seen = progress.filter((p) => p.file === file).map((p) => p.loaded);
      expect(seen[0]).to.equal(0);
      expect(seen[seen.length - 1]).to.equal(progress.find((p) => p.file === file)!.total);
      expect(seen.every((v, i) => i === 0 || v >= seen[i - 1]!)).to.equal(true);
    }
    expect(progress.every((p, i) => i === 0 || p.overallLoaded >= progress[i - 1]!.overallLoaded)).to.equal(true);
    await control('__reset', {});
    const second = await load('1.0.0', db);
    expect([...second.sources.values()].every((s) => s === 'cache')).to.equal(true);
    expect((await requests()).map((r) => r.path)).to.deep.equal(['1.0.0/manifest.json']);
    for (const [file, bytes] of first.files) expect(second.files.get(file)).to.deep.equal(bytes);
  });

  it('resumes an interrupted download with a Range request from the bytes it kept', async () => {
    const db = freshDb();
    await control('__faults', { cutAfter: { 'denoiser.data-0': 50_000 } });
    const model = await load('1.0.0', db);
    expect(model.sources.get('denoiser.data-0')).to.equal('resumed');
    const shard = (await requests()).filter((r) => r.path === '1.0.0/denoiser.data-0');
    expect(shard).to.have.length(2);
    expect(shard[0]!.range).to.equal(null);
    const resumedFrom = Number(/^bytes=(\d+)-$/.exec(shard[1]!.range ?? '')?.[1]);
    expect(resumedFrom).to.be.greaterThan(0);
    expect(resumedFrom).to.be.at.most(50_000);
  });

  it('re-downloads a corrupted cached shard alone', async () => {
    const db = freshDb();
    const { manifest } = await load('1.0.0', db);
    const idb = await openShardDb(db);
    const key = fileKey(manifest, 'video-decoder.data-0');
    const stored = (await idb.get('files', key))!;
    const bytes = new Uint8Array(stored.data);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    await idb.put('files', { ...stored, data: bytes.buffer });
    idb.close();
    await control('__reset', {});
    const again = await load('1.0.0', db);
    expect(again.sources.get('video-decoder.data-0')).to.equal('network');
    expect(again.warnings).to.deep.equal(['the cached video-decoder.data-0 was corrupted: downloaded it again']);
    expect((await requests()).map((r) => r.path)).to.deep.equal(['1.0.0/manifest.json', '1.0.0/video-decoder.data-0']);
  });

  it('refuses a file whose bytes do not match the manifest, naming it', async () => {
    await control('__faults', { corrupt: ['text-encoder.data-0'] });
    const error = await load('1.0.0', freshDb()).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(IntegrityError);
    expect((error as Error).message).to.contain('text-encoder.data-0');
  });

  it('evicts the previous version once a new one is complete', async () => {
    const db = freshDb();
    await load('1.0.0', db);
    await load('1.1.0', db);
    const idb = await openShardDb(db);
    const versions = new Set((await idb.getAll('files')).map((f) => f.version));
    idb.close();
    expect([...versions]).to.deep.equal(['1.1.0']);
  });

  it('keeps the model in memory, saying how much room it needs, when storage is short', async () => {
    const db = freshDb();
    const model = await load('1.0.0', db, { storage: { estimate: async () => ({ quota: 100_000, usage: 90_000 }) } });
    expect(model.cached).to.equal(false);
    expect(model.warnings[0]).to.match(/^this model needs 0\.5 MB of storage and only 0\.0 MB is free: keeping it in memory only/);
    expect(model.files.size).to.equal(9);
    const idb = await openShardDb(db);
    expect(await idb.count('files')).to.equal(0);
    idb.close();
  });

  it('never fetches a file twice when two loaders (two tabs) want it at once', async () => {
    const db = freshDb();
    const [a, b] = await Promise.all([load('1.0.0', db), load('1.0.0', db)]);
    expect(a.files.size).to.equal(9);
    expect(b.files.size).to.equal(9);
    const fetched = (await requests()).map((r) => r.path).filter((p) => !p.endsWith('manifest.json'));
    expect(fetched).to.have.length(9);
    expect(new Set(fetched).size).to.equal(9);
  });
});
