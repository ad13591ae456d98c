/**
 * `npm run render-node:token -- --name gpu-1 [--remote]` makes a render node's token: 32 random
 * bytes as hex, printed once; only its SHA-256 is stored, in the render_nodes table of the D1
 * database (the local one under .wrangler/state unless --remote). `--revoke gpu-1` deletes the
 * node, and with it its token. `--list` shows the nodes.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OFFLINE_WRANGLER_ENV } from './offline-env.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** A name is echoed into SQL, so it is held to characters that need no quoting. */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface D1Target {
  /** The deployed database instead of the local one (wrangler must be logged in). */
  readonly remote?: boolean;
  /** The repository root whose wrangler.toml and .wrangler/state to use. */
  readonly cwd?: string;
}

function assertName(name: string): void {
  if (!NODE_NAME.test(name)) throw new Error(`--name must be 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit (got ${JSON.stringify(name)})`);
}

/** Runs SQL on the DB binding with `wrangler d1 execute`, returning its result rows. */
async function d1(sql: string, target: D1Target): Promise<Record<string, unknown>[]> {
  const args = ['d1', 'execute', 'DB', target.remote ? '--remote' : '--local', '--json', '--command', sql];
  const cwd = target.cwd ?? root;
  const output = await new Promise<string>((resolve, reject) => {
    // stdin closed: wrangler takes its non-interactive default instead of asking.
    const child = spawn(join(cwd, 'node_modules', '.bin', 'wrangler'), args, { cwd, env: { ...process.env, ...(target.remote ? {} : OFFLINE_WRANGLER_ENV) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrangler d1 execute failed (exit code ${code}): ${(err || out).trim()}`))));
  });
  const parsed = JSON.parse(output.slice(output.indexOf('['))) as { results?: Record<string, unknown>[] }[];
  return parsed.flatMap((r) => r.results ?? []);
}

/** A new render node with a fresh token; the token is returned once and stored only as its hash. */
export async function createRenderNodeToken(name: string, target: D1Target = {}): Promise<{ id: string; name: string; token: string }> {
  assertName(name);
  const token = randomBytes(32).toString('hex');
  const id = `node_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const hash = createHash('sha256').update(token).digest('hex');
  await d1(`INSERT INTO render_nodes (id, name, token_hash, created_at) VALUES ('${id}', '${name}', '${hash}', ${Math.floor(Date.now() / 1000)})`, target);
  return { id, name, token };
}

/** Deletes every render node called `name`; its token stops working at once. Returns how many. */
export async function revokeRenderNode(name: string, target: D1Target = {}): Promise<number> {
  assertName(name);
  const rows = await d1(`DELETE FROM render_nodes WHERE name = '${name}' RETURNING id`, target);
  return rows.length;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { name: { type: 'string' }, revoke: { type: 'string' }, list: { type: 'boolean' }, remote: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  const usage = 'usage: npm run render-node:token -- --name <node name> [--remote]   (or --revoke <node name>, or --list)';
  const target = { remote: values.remote };
  if (values.help || (!values.name && !values.revoke && !values.list)) {
    console.log(usage);
    return values.help ? 0 : 2;
  }
  if (values.list) {
    for (const row of await d1('SELECT id, name, created_at FROM render_nodes ORDER BY created_at', target)) console.log(`${row['id']}  ${row['name']}  since ${new Date(Number(row['created_at']) * 1000).toISOString()}`);
    return 0;
  }
  if (values.revoke) {
    const n = await revokeRenderNode(values.revoke, target);
    console.log(n > 0 ? `revoked render node ${values.revoke} (${n} token${n === 1 ? '' : 's'})` : `no render node is called ${values.revoke}`);
    return n > 0 ? 0 : 1;
  }
  const made = await createRenderNodeToken(values.name as string, target);
  console.log(`render node ${made.name} (${made.id}) in the ${values.remote ? 'remote' : 'local'} D1 database. Its token, shown only this once:

  ${made.token}

Start the node with it:
  ZOETROPE_RENDER_NODE_TOKEN=${made.token} npm run render-node -- --edge http://127.0.0.1:8787 --model <model dir>`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`render-node:token: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
