import { Hono } from 'hono';

export interface Health {
  readonly status: 'ok' | 'degraded';
  readonly service: 'zoetrope-edge';
  readonly instance: string;
  readonly time: string;
  readonly checks: { readonly d1: { readonly ok: boolean; readonly migrationsApplied: number; readonly error?: string } };
}

/** Asks D1 how many migrations are applied; an unmigrated or unreachable database reports degraded. */
export async function readHealth(db: D1Database, instance: string, now = new Date()): Promise<Health> {
  let d1: Health['checks']['d1'];
  try {
    const row = await db.prepare('SELECT COUNT(*) AS n FROM d1_migrations').first<{ n: number }>();
    d1 = { ok: true, migrationsApplied: row?.n ?? 0 };
  } catch (error) {
    d1 = { ok: false, migrationsApplied: 0, error: (error as Error).message };
  }
  return { status: d1.ok && d1.migrationsApplied > 0 ? 'ok' : 'degraded', service: 'zoetrope-edge', instance, time: now.toISOString(), checks: { d1 } };
}

export const health = new Hono<{ Bindings: Env }>().get('/', async (c) => {
  const report = await readHealth(c.env.DB, c.env.INSTANCE_NAME);
  c.header('Cache-Control', 'no-store');
  return c.json(report, report.status === 'ok' ? 200 : 503);
});
