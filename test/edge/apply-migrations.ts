import { applyD1Migrations, env } from 'cloudflare:test';

// The same SQL files `npm start` applies with wrangler, applied to this test run's local D1.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
