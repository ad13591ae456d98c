import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import type { TestRunnerConfig } from '@web/test-runner';
import { CHROMIUM_ARGS, CHROMIUM_PATH, ISOLATION_HEADERS } from './chromium.ts';
import { modelServer } from './model-server.ts';

const rootDir = new URL('../..', import.meta.url).pathname;

export const browserTestConfig: TestRunnerConfig = {
  rootDir,
  files: ['test/browser/**/*.test.ts'],
  nodeResolve: { exportConditions: ['browser', 'production'] },
  hostname: '127.0.0.1',
  concurrency: 1,
  concurrentBrowsers: 1,
  // SwiftShader WebGPU on a loaded 2-core machine is slow; nothing here is timed.
  testsStartTimeout: 120_000,
  testsFinishTimeout: 600_000,
  browserStartTimeout: 120_000,
  testFramework: { config: { timeout: 300_000 } },
  plugins: [
    // mediabunny and its AAC encoder import Node built-ins on Node-only paths (their package.json
    // "browser" maps send them to nothing, which Vite honours); here they resolve to an empty module.
    {
      name: 'empty-node-builtins',
      resolveImport: ({ source }) => (source === 'worker_threads' || source.startsWith('node:') ? '/__empty-module.js' : undefined),
      serve: (context) => (context.path === '/__empty-module.js' ? { body: 'export default {};\nexport const Worker = undefined;\n', type: 'js' } : undefined),
    },
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: `${rootDir}test/browser/tsconfig.json` })],
  middleware: [
    modelServer,
    async (ctx, next) => {
      for (const [name, value] of Object.entries(ISOLATION_HEADERS)) ctx.set(name, value);
      await next();
    },
  ],
  browsers: [chromeLauncher({ launchOptions: { executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS] } })],
};

export default browserTestConfig;
