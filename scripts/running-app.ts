import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OFFLINE_WRANGLER_ENV } from './offline-env.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface RunningApp {
  readonly webOrigin: string;
  readonly edgeOrigin: string;
  readonly output: () => string;
  /** Sends Ctrl-C (SIGINT) and resolves with the exit code once everything has stopped. */
  readonly stop: () => Promise<number | null>;
}

/** Starts `npm start`'s script on the given ports, exactly as a person would, and waits until it says it runs. */
export async function startApp(webPort: number, edgePort: number): Promise<RunningApp> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: root,
    env: { ...process.env, ZOETROPE_WEB_PORT: String(webPort), ZOETROPE_EDGE_PORT: String(edgePort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up in 150 s:\n${output}`)), 150_000);
    const poll = setInterval(() => {
      if (output.includes('Zoetrope is running')) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 100);
    child.once('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
  return {
    webOrigin: `http://localhost:${webPort}`,
    edgeOrigin: `http://127.0.0.1:${edgePort}`,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGINT');
      }),
  };
}

export interface RunningEdge {
  readonly origin: string;
  readonly stop: () => Promise<void>;
}

/**
 * Starts one edge worker in workerd (wrangler's startWorker, in this process) on 127.0.0.1:`port`
 * with its own local state under `stateDir`, after applying the D1 migrations there with wrangler as
 * npm start does. Several can run side by side: two instances for the federation test.
 */
export async function startEdge(port: number, stateDir: string): Promise<RunningEdge> {
  // startWorker runs in this process and reads these from its environment; the migration child inherits them.
  Object.assign(process.env, OFFLINE_WRANGLER_ENV);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(join(root, 'node_modules', '.bin', 'wrangler'), ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', stateDir], { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('exit', (exitCode) => (exitCode === 0 ? resolve() : reject(new Error(`applying the D1 migrations in ${stateDir} failed (${exitCode}):\n${output}`))));
  });
  // Loaded here so that startApp's users (the bench, the app-shell test) don't pay for wrangler.
  const { unstable_startWorker } = await import('wrangler');
  const worker = await unstable_startWorker({
    config: join(root, 'wrangler.toml'),
    sendMetrics: false,
    dev: { remote: false, server: { hostname: '127.0.0.1', port }, persist: stateDir, inspector: false, watch: false, liveReload: false, logLevel: 'warn' },
  });
  await worker.ready;
  return { origin: `http://127.0.0.1:${port}`, stop: () => worker.dispose() };
}
