/**
 * `npm run bench:edge [-- --seconds 10 --concurrency 16]` → bench-results/edge.json
 *
 * Bounded load on 127.0.0.1 against the local workerd (`npm start`'s edge, with local D1 and Durable
 * Objects): requests per second and p50/p99 latency for a recipe fetch and a consent check (the
 * revocation status other instances ask before honouring a token). Each phase runs a fixed number
 * of concurrent clients for a fixed time; nothing is timed in tests.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DRAFT_RECIPE } from '../test/fixtures/recipes.ts';
import { startApp } from './running-app.ts';

interface Phase {
  readonly name: string;
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

async function load(name: string, url: string, seconds: number, concurrency: number): Promise<Phase> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const client = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await fetch(url);
        await res.arrayBuffer();
        if (!res.ok) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - started) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN) * 10) / 10;
  return { name, requests: sorted.length, errors, rps: Math.round(sorted.length / elapsed), latencyMs: { p50: at(0.5), p99: at(0.99), max: at(1) } };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, concurrency: { type: 'string' } } });
  const seconds = Number(values.seconds ?? 10);
  const concurrency = Number(values.concurrency ?? 16);
  if (!(seconds > 0) || !Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('--seconds must be > 0 and --concurrency a positive integer');
  const app = await startApp(5491, 8991);
  try {
    const api = `${app.edgeOrigin}/api`;
    const json = (body: unknown, cookie?: string, csrf?: string) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie, 'x-csrf-token': csrf ?? '' } : {}) }, body: JSON.stringify(body) });
    const signUp = await fetch(`${api}/accounts`, json({ handle: `bench_${Date.now() % 1_000_000}`, password: 'correct horse battery', birthDate: '1990-01-01' }));
    if (signUp.status !== 201) throw new Error(`sign-up failed: ${signUp.status} ${await signUp.text()}`);
    const cookie = (signUp.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const { csrfToken } = (await signUp.json()) as { csrfToken: string };
    const published = await fetch(`${api}/recipes`, json({ recipe: { ...DRAFT_RECIPE, seed: Date.now() % 100_000 } }, cookie, csrfToken));
    const { id } = (await published.json()) as { id: string };
    const cameo = (await (await fetch(`${api}/cameos`, json({ name: 'bench', audience: 'everyone' }, cookie, csrfToken))).json()) as { id: string };
    const { token } = (await (await fetch(`${api}/cameos/${cameo.id}/consent`, json({ scope: 'generate' }, cookie, csrfToken))).json()) as { token: string };
    const jti = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { jti: string }).jti;
    // A short warm-up, then the measured phases.
    await load('warm-up', `${api}/recipes/${id}`, 2, concurrency);
    const phases = [await load('recipe fetch (GET /api/recipes/:id)', `${api}/recipes/${id}`, seconds, concurrency), await load('consent check (GET /api/consent/status/:jti)', `${api}/consent/status/${jti}`, seconds, concurrency)];
    const report = { bench: 'edge', date: new Date().toISOString(), machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim(), node: process.version, loadAvg1m: Math.round((loadavg()[0] ?? 0) * 100) / 100 }, target: `${app.edgeOrigin} (wrangler dev, local D1)`, seconds, concurrency, phases };
    await mkdir('bench-results', { recursive: true });
    await writeFile('bench-results/edge.json', `${JSON.stringify(report, null, 2)}\n`);
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await app.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:edge: ${(error as Error).message}`);
  process.exit(1);
});
