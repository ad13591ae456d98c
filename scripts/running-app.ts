import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
