import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

const root = new URL('../..', import.meta.url).pathname;

export default defineConfig(async () => {
  const migrations = await readD1Migrations(`${root}edge/migrations`);
  return {
    plugins: [
      cloudflareTest({
        main: `${root}edge/src/index.ts`,
        wrangler: { configPath: `${root}wrangler.toml` },
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations },
          // Offline by design: no request leaves 127.0.0.1.
          cf: false,
        },
      }),
    ],
    test: {
      name: 'edge',
      root,
      include: ['test/edge/**/*.test.ts'],
      setupFiles: ['test/edge/apply-migrations.ts'],
      testTimeout: 60_000,
    },
  };
});
