import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, Next } from 'koa';

/**
 * A model folder served for the shard-loader tests, with what real networks do: HTTP Range, a
 * transfer cut off after N bytes, a file whose bytes are wrong, and a log of every request.
 *
 *   GET  /__model/<version>/<file>    the tiny model's files; manifest.json says <version>
 *   POST /__model/__faults            {"cutAfter": {"file": bytes}, "corrupt": ["file"]} (each cut happens once)
 *   GET  /__model/__log               [{ "path", "range" }] since the last reset
 *   POST /__model/__reset             clears faults and the log
 */
const FIXTURE = join(new URL('../..', import.meta.url).pathname, 'test/fixtures/tiny-model');

interface Faults {
  cutAfter: Record<string, number>;
  corrupt: string[];
}
let faults: Faults = { cutAfter: {}, corrupt: [] };
let log: { path: string; range: string | null }[] = [];

async function readBody(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function modelServer(ctx: Context, next: Next): Promise<void> {
  if (!ctx.path.startsWith('/__model/')) return next();
  const rest = ctx.path.slice('/__model/'.length);
  if (rest === '__faults' && ctx.method === 'POST') {
    const body = JSON.parse(await readBody(ctx)) as Partial<Faults>;
    faults = { cutAfter: body.cutAfter ?? {}, corrupt: body.corrupt ?? [] };
    ctx.body = { ok: true };
    return;
  }
  if (rest === '__reset' && ctx.method === 'POST') {
    faults = { cutAfter: {}, corrupt: [] };
    log = [];
    ctx.body = { ok: true };
    return;
  }
  if (rest === '__log') {
    ctx.body = log;
    return;
  }
  const [version, ...parts] = rest.split('/');
  const file = parts.join('/');
  if (!version || !/^[\w.-]+$/.test(file)) {
    ctx.status = 404;
    return;
  }
  log.push({ path: `${version}/${file}`, range: ctx.get('range') || null });
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(FIXTURE, file));
  } catch {
    ctx.status = 404;
    return;
  }
  if (file === 'manifest.json') {
    const manifest = JSON.parse(bytes.toString('utf8')) as { version: string };
    manifest.version = version;
    bytes = Buffer.from(JSON.stringify(manifest));
  }
  if (faults.corrupt.includes(file)) {
    bytes = Buffer.from(bytes);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
  }
  const range = /^bytes=(\d+)-$/.exec(ctx.get('range'));
  const start = range ? Math.min(Number(range[1]), bytes.length) : 0;
  const body = bytes.subarray(start);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'accept-ranges': 'bytes', 'cache-control': 'no-store' };
  if (range) headers['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
  const cut = faults.cutAfter[file];
  if (cut !== undefined) {
    delete faults.cutAfter[file];
    ctx.respond = false;
    ctx.res.writeHead(range ? 206 : 200, { ...headers, ...Object.fromEntries(Object.entries(ctx.response.headers).map(([k, v]) => [k, String(v)])) });
    ctx.res.write(body.subarray(0, cut), () => setTimeout(() => ctx.res.destroy(), 20));
    return;
  }
  ctx.status = range ? 206 : 200;
  ctx.set(headers);
  ctx.body = body;
}
