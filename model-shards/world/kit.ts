import { createHash } from 'node:crypto';
import { chmod, copyFile, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * `npm run world:kit -- --out DIR`: the world's command line as a folder that runs where nothing is
 * installed: its own `node` (this one's binary), the CLI and its dataset worker bundled into
 * `world.mjs` and `dataset-worker.mjs`, and the one native module the renderer needs
 * (`@napi-rs/canvas` and its binary for this platform) in the folder's own node_modules. A lent GPU
 * machine has 16 cores and no Node: with the kit it renders training clips itself
 * (`DIR/node DIR/world.mjs export ...`), so the clips no longer have to fit in what travels to it.
 * A clip is a pure function of its seed, so the kit's clips are the same bytes as `npm run world`'s.
 * `kit.json` lists every file with its size and sha256.
 */

export const KIT_VERSION = 1;

export interface KitFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface KitManifest {
  readonly version: number;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  /** How to run it, from the kit's folder. */
  readonly entry: readonly string[];
  readonly files: readonly KitFile[];
}

const WORLD = dirname(fileURLToPath(import.meta.url));
/** Resolved from the repository, where `npm ci` installed them. */
const NATIVE_PACKAGE = '@napi-rs/canvas';

export async function buildWorldKit(out: string): Promise<KitManifest> {
  const root = resolve(out);
  const entries = await readdir(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  if (entries.length > 0 && !entries.includes('kit.json')) {
    throw new Error(`${root} is not empty and holds no world kit (kit.json): give an empty or new folder`);
  }
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  await build({
    entryPoints: { world: join(WORLD, 'cli.ts'), 'dataset-worker': join(WORLD, 'dataset-worker.ts') },
    outdir: root,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [NATIVE_PACKAGE],
    // Bundled CommonJS modules call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __kitRequire } from 'node:module'; const require = __kitRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  const scope = NATIVE_PACKAGE.split('/')[0] ?? '';
  for (const dir of await nativePackages()) {
    await cp(dir, join(root, 'node_modules', scope, basename(dir)), { recursive: true });
  }
  await copyFile(process.execPath, join(root, 'node'));
  await chmod(join(root, 'node'), 0o755);
  const files: KitFile[] = [];
  for (const path of await listFiles(root)) {
    const data = await readFile(join(root, path));
    files.push({ path, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  }
  const manifest: KitManifest = {
    version: KIT_VERSION,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    entry: ['./node', 'world.mjs'],
    files,
  };
  await writeFile(join(root, 'kit.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** The renderer's package and its installed binary packages for this platform and architecture. */
async function nativePackages(): Promise<string[]> {
  const require = createRequire(import.meta.url);
  const main = dirname(require.resolve(`${NATIVE_PACKAGE}/package.json`));
  const scope = dirname(main);
  const prefix = `${NATIVE_PACKAGE.split('/')[1]}-${process.platform}-${process.arch}`;
  const binaries = (await readdir(scope)).filter((name) => name.startsWith(prefix)).map((name) => join(scope, name));
  if (binaries.length === 0) {
    throw new Error(`no ${NATIVE_PACKAGE} binary for ${process.platform}-${process.arch} is installed in ${scope}: run npm ci`);
  }
  return [main, ...binaries];
}

async function listFiles(root: string, under = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, under))).sort()) {
    const path = under ? `${under}/${name}` : name;
    if ((await stat(join(root, path))).isDirectory()) out.push(...(await listFiles(root, path)));
    else out.push(path);
  }
  return out;
}

function parseArgs(argv: readonly string[]): string {
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out') out = argv[++i];
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('Usage: npm run world:kit -- --out DIR\n\nBuilds the world CLI as a folder that runs on a machine with no Node or node_modules.\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (usage: npm run world:kit -- --out DIR)`);
  }
  if (!out) throw new Error('--out DIR is required (usage: npm run world:kit -- --out DIR)');
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const manifest = await buildWorldKit(parseArgs(process.argv.slice(2)));
    const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
    process.stdout.write(`world kit: ${manifest.files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB (node ${manifest.node}, ${manifest.platform}-${manifest.arch})\n`);
  } catch (error) {
    process.stderr.write(`world:kit: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
