/**
 * `npm start`: applies the local D1 migrations, starts the edge API (workerd, local D1 under
 * .wrangler/state) and the web app (Vite), waits until both answer, prints the URL. Ctrl-C stops
 * both. Ports: ZOETROPE_WEB_PORT (5173) and ZOETROPE_EDGE_PORT (8787).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OFFLINE_WRANGLER_ENV } from './offline-env.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const webPort = Number(process.env['ZOETROPE_WEB_PORT'] ?? 5173);
const edgePort = Number(process.env['ZOETROPE_EDGE_PORT'] ?? 8787);
const edgeOrigin = `http://127.0.0.1:${edgePort}`;
const env = { ...process.env, ...OFFLINE_WRANGLER_ENV, ZOETROPE_EDGE_ORIGIN: edgeOrigin };

function fail(message: string): never {
  console.error(`zoetrope: ${message}`);
  process.exit(1);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
      .once('error', () => resolve(false))
      .once('listening', () => probe.close(() => resolve(true)))
      .listen(port, '127.0.0.1');
  });
}

function runToEnd(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    // stdin closed: wrangler takes the non-interactive default instead of asking to confirm.
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function waitFor(url: string, child: ChildProcess, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) fail(`${what} exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status < 500 || res.status === 503) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  fail(`${what} did not answer at ${url} within ${timeoutMs / 1000} s`);
}

for (const [port, what] of [[webPort, 'web app (ZOETROPE_WEB_PORT)'], [edgePort, 'edge API (ZOETROPE_EDGE_PORT)']] as const) {
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`the ${what} port must be 1–65535`);
  if (!(await portIsFree(port))) fail(`port ${port} for the ${what} is in use: stop what holds it (another npm start?) or choose another port`);
}

console.log('zoetrope: applying local D1 migrations…');
if ((await runToEnd(bin('wrangler'), ['d1', 'migrations', 'apply', 'DB', '--local'])) !== 0) fail('applying the D1 migrations failed (see above)');

const children: ChildProcess[] = [];
let stopping = false;
function start(name: string, command: string, args: string[]): ChildProcess {
  // Own process group, so stopping takes the whole tree (workerd, esbuild).
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`zoetrope: the ${name} stopped unexpectedly (${signal ?? `exit code ${code}`}); stopping the rest`);
      void stop(1);
    }
  });
  children.push(child);
  return child;
}

async function stop(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
          const force = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 5000);
          child.once('exit', () => (clearTimeout(force), resolve()));
          process.kill(-child.pid, 'SIGTERM');
        }),
    ),
  );
  process.exit(exitCode);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const edge = start('edge API', bin('wrangler'), ['dev', '--ip', '127.0.0.1', '--port', String(edgePort), '--local', '--show-interactive-dev-session=false']);
const web = start('web app', bin('vite'), ['--port', String(webPort), '--strictPort', '--clearScreen=false']);
await waitFor(`${edgeOrigin}/api/health`, edge, 'the edge API');
await waitFor(`http://127.0.0.1:${webPort}/`, web, 'the web app');

console.log(`
  Zoetrope is running.
    web app:   http://localhost:${webPort}/
    edge API:  ${edgeOrigin}/api/health
  Press Ctrl-C to stop.
`);
