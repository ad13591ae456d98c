import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { CanceledError, IntegrityError, manifestFiles, parseManifestJson, sha256Hex, type FileRef, type Manifest } from '../../../contracts/index.ts';

/**
 * Gets a model's files into memory, verified: every file is checked against the manifest's sha256
 * before anything uses it. Files are cached in IndexedDB per model and version (older versions of
 * the same model are evicted once a new one is complete), downloads resume with HTTP Range after an
 * interruption (the received part is kept in IndexedDB as it arrives), a corrupted cached file is
 * re-downloaded alone, and two tabs never fetch the same file at once (a Web Lock per file: the
 * second finds it cached). When storage is short, or a write hits the quota, the model is kept in
 * memory only, with a warning saying how much room it needed.
 */

export interface FileProgress {
  readonly file: string;
  /** Bytes of this file in hand (cached, resumed or received). */
  readonly loaded: number;
  readonly total: number;
  /** All files together. */
  readonly overallLoaded: number;
  readonly overallTotal: number;
  readonly source: 'cache' | 'network';
}

export type FileSource = 'cache' | 'network' | 'resumed';

export interface LoadedModel {
  readonly manifest: Manifest;
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly sources: ReadonlyMap<string, FileSource>;
  /** Whether the files are in IndexedDB (false: memory only, see warnings). */
  readonly cached: boolean;
  readonly warnings: readonly string[];
}

export interface ShardLoaderOptions {
  /** The model folder's URL (ending in /): manifest.json and every file are relative to it. */
  readonly baseUrl: string;
  readonly dbName?: string;
  readonly fetch?: typeof fetch;
  /** Web Locks; null runs without (one tab only). */
  readonly locks?: LockManager | null;
  /** For estimate(); null skips the room check. */
  readonly storage?: Pick<StorageManager, 'estimate'> | null;
  readonly onProgress?: (p: FileProgress) => void;
  readonly signal?: AbortSignal;
  /** Received bytes are saved for resuming at least this often (bytes). */
  readonly checkpointBytes?: number;
  /** Attempts per file after an interrupted or failed transfer. */
  readonly retries?: number;
}

interface StoredFile {
  readonly key: string;
  readonly modelId: string;
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
  readonly data: ArrayBuffer;
}

interface ShardDb extends DBSchema {
  files: { key: string; value: StoredFile; indexes: { byModel: string } };
  partials: { key: string; value: StoredFile; indexes: { byModel: string } };
}

export const DEFAULT_DB = 'zoetrope-models';
const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

export function fileKey(manifest: Pick<Manifest, 'id' | 'version'>, file: string): string {
  return `${manifest.id}@${manifest.version}/${file}`;
}

export async function openShardDb(name = DEFAULT_DB): Promise<IDBPDatabase<ShardDb>> {
  return openDB<ShardDb>(name, 1, {
    upgrade(db) {
      for (const store of ['files', 'partials'] as const) db.createObjectStore(store, { keyPath: 'key' }).createIndex('byModel', 'modelId');
    },
  });
}

const isQuotaError = (error: unknown) => error instanceof DOMException && (error.name === 'QuotaExceededError' || error.name === 'UnknownError');

/** A transfer that stopped before its last byte: the bytes so far are kept for a Range resume. */
class InterruptedTransfer extends Error {
  override readonly name = 'InterruptedTransfer';
}

export class ShardLoader {
  private readonly fetch: typeof fetch;
  private readonly locks: LockManager | null;
  private readonly storage: Pick<StorageManager, 'estimate'> | null;
  private readonly checkpointBytes: number;
  private readonly retries: number;
  private db: IDBPDatabase<ShardDb> | null = null;
  private memoryOnly = false;
  private readonly warnings: string[] = [];

  constructor(private readonly options: ShardLoaderOptions) {
    if (!options.baseUrl.endsWith('/')) throw new RangeError(`baseUrl must end with / (got ${options.baseUrl})`);
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.locks = options.locks === undefined ? (globalThis.navigator?.locks ?? null) : options.locks;
    this.storage = options.storage === undefined ? (globalThis.navigator?.storage ?? null) : options.storage;
    this.checkpointBytes = options.checkpointBytes ?? 4 * MB;
    this.retries = options.retries ?? 3;
  }

  private url(file: string): string {
    return new URL(file, this.options.baseUrl).href;
  }

  private checkAborted(): void {
    if (this.options.signal?.aborted) throw new CanceledError('loading the model was canceled');
  }

  /** manifest.json, parsed (its own sha256 is what recipes pin). */
  async loadManifest(): Promise<{ manifest: Manifest; manifestSha256: string }> {
    this.checkAborted();
    const response = await this.fetch(this.url('manifest.json'), { cache: 'no-cache', signal: this.options.signal });
    if (!response.ok) throw new RangeError(`${this.url('manifest.json')} answered ${response.status} ${response.statusText}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { manifest: parseManifestJson(new TextDecoder().decode(bytes)), manifestSha256: await sha256Hex(bytes) };
  }

  async load(manifest: Manifest): Promise<LoadedModel> {
    this.checkAborted();
    try {
      this.db ??= await openShardDb(this.options.dbName);
    } catch (error) {
      this.degrade(`IndexedDB is unavailable (${(error as Error).message}): keeping this model in memory only`);
    }
    const refs = manifestFiles(manifest);
    const overallTotal = refs.reduce((s, f) => s + f.bytes, 0);
    await this.checkRoom(manifest, refs);
    const files = new Map<string, Uint8Array>();
    const sources = new Map<string, FileSource>();
    let overallDone = 0;
    for (const ref of refs) {
      const run = async () => {
        const got = await this.loadFile(manifest, ref, (loaded, source) =>
          this.options.onProgress?.({ file: ref.file, loaded, total: ref.bytes, overallLoaded: overallDone + loaded, overallTotal, source }),
        );
        files.set(ref.file, got.bytes);
        sources.set(ref.file, got.source);
        overallDone += ref.bytes;
      };
      if (this.locks) await this.locks.request(`zoetrope-shard:${fileKey(manifest, ref.file)}`, run);
      else await run();
    }
    await this.evictOtherVersions(manifest);
    return { manifest, files, sources, cached: !this.memoryOnly, warnings: [...this.warnings] };
  }

  private degrade(warning: string): void {
    this.memoryOnly = true;
    if (!this.warnings.includes(warning)) this.warnings.push(warning);
  }

  /** Enough free storage for the files not cached yet? If not, memory only, saying how much is needed. */
  private async checkRoom(manifest: Manifest, refs: readonly FileRef[]): Promise<void> {
    if (this.memoryOnly || !this.storage || !this.db) return;
    let needed = 0;
    for (const ref of refs) if (!(await this.db.getKey('files', fileKey(manifest, ref.file)))) needed += ref.bytes;
    if (needed === 0) return;
    const { quota, usage } = await this.storage.estimate();
    if (quota === undefined || usage === undefined) return;
    const free = quota - usage;
    if (free < needed * 1.1) this.degrade(`this model needs ${mb(needed)} of storage and only ${mb(Math.max(0, free))} is free: keeping it in memory only (it downloads again next time)`);
  }

  private async put(store: 'files' | 'partials', value: StoredFile): Promise<void> {
    if (this.memoryOnly || !this.db) return;
    try {
      await this.db.put(store, value);
    } catch (error) {
      if (!isQuotaError(error)) throw error;
      this.degrade(`storage is full (${(error as Error).message}): keeping this model in memory only`);
    }
  }

  private async loadFile(manifest: Manifest, ref: FileRef, progress: (loaded: number, source: 'cache' | 'network') => void): Promise<{ bytes: Uint8Array; source: FileSource }> {
    const key = fileKey(manifest, ref.file);
    const base = { key, modelId: manifest.id, version: manifest.version, file: ref.file, sha256: ref.sha256 };
    const cached = this.db ? await this.db.get('files', key) : undefined;
    if (cached) {
      const bytes = new Uint8Array(cached.data);
      if (bytes.length === ref.bytes && (await sha256Hex(bytes)) === ref.sha256) {
        progress(ref.bytes, 'cache');
        return { bytes, source: 'cache' };
      }
      this.warnings.push(`the cached ${ref.file} was corrupted: downloaded it again`);
      await this.db?.delete('files', key);
    }
    let resumed = false;
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      this.checkAborted();
      const partial = this.db ? await this.db.get('partials', key) : undefined;
      const start = partial && partial.sha256 === ref.sha256 && partial.data.byteLength < ref.bytes ? new Uint8Array(partial.data) : new Uint8Array(0);
      resumed ||= start.length > 0;
      try {
        const bytes = await this.download(ref, start, (loaded) => progress(loaded, 'network'), async (sofar) => this.put('partials', { ...base, data: sofar.slice().buffer }));
        const actual = await sha256Hex(bytes);
        if (bytes.length !== ref.bytes || actual !== ref.sha256) {
          await this.db?.delete('partials', key);
          throw new IntegrityError({ url: this.url(ref.file), expected: `${ref.sha256} (${ref.bytes} bytes)`, actual: `${actual} (${bytes.length} bytes)` });
        }
        await this.put('files', { ...base, data: bytes.slice().buffer });
        await this.db?.delete('partials', key);
        return { bytes, source: resumed ? 'resumed' : 'network' };
      } catch (error) {
        lastError = error;
        if (error instanceof CanceledError || (error instanceof DOMException && error.name === 'AbortError')) throw new CanceledError('loading the model was canceled');
        // A wrong hash after a resume may be a stale partial: the next attempt starts from zero.
        if (error instanceof IntegrityError && start.length === 0) throw error;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(`downloading ${ref.file} failed`);
  }

  /** Fetches the rest of a file after `start` (Range), saving what arrives every checkpointBytes. */
  private async download(ref: FileRef, start: Uint8Array, progress: (loaded: number) => void, save: (sofar: Uint8Array) => Promise<void>): Promise<Uint8Array> {
    const headers: HeadersInit = start.length > 0 ? { Range: `bytes=${start.length}-` } : {};
    const response = await this.fetch(this.url(ref.file), { headers, signal: this.options.signal, cache: 'no-store' });
    if (!response.ok) throw new RangeError(`${this.url(ref.file)} answered ${response.status} ${response.statusText}`);
    // A server that ignores Range sends the whole file (200): start over.
    const out = new Uint8Array(ref.bytes);
    let offset = 0;
    if (response.status === 206 && start.length > 0) {
      out.set(start.subarray(0, Math.min(start.length, ref.bytes)));
      offset = start.length;
    }
    progress(offset);
    if (!response.body) throw new InterruptedTransfer(`${ref.file}: the response has no body`);
    const reader = response.body.getReader();
    let sinceSave = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (offset + value.length > ref.bytes) throw new IntegrityError({ url: this.url(ref.file), expected: `${ref.sha256} (${ref.bytes} bytes)`, actual: `more than ${ref.bytes} bytes` });
        out.set(value, offset);
        offset += value.length;
        sinceSave += value.length;
        progress(offset);
        if (sinceSave >= this.checkpointBytes && offset < ref.bytes) {
          await save(out.subarray(0, offset));
          sinceSave = 0;
        }
      }
    } catch (error) {
      if (offset > 0 && !(error instanceof IntegrityError)) await save(out.subarray(0, offset));
      if (error instanceof IntegrityError) throw error;
      throw this.options.signal?.aborted ? new CanceledError('loading the model was canceled') : new InterruptedTransfer(`${ref.file}: the transfer stopped at byte ${offset} of ${ref.bytes} (${(error as Error).message})`);
    }
    if (offset < ref.bytes) {
      if (offset > 0) await save(out.subarray(0, offset));
      throw new InterruptedTransfer(`${ref.file}: the transfer ended at byte ${offset} of ${ref.bytes}`);
    }
    return out;
  }

  /** Once a version is complete, other versions of the same model go. */
  private async evictOtherVersions(manifest: Manifest): Promise<void> {
    if (!this.db || this.memoryOnly) return;
    for (const store of ['files', 'partials'] as const) {
      const tx = this.db.transaction(store, 'readwrite');
      for await (const cursor of tx.store.index('byModel').iterate(manifest.id)) {
        if (cursor.value.version !== manifest.version) await cursor.delete();
      }
      await tx.done;
    }
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }
}
