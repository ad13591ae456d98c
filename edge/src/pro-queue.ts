import { DurableObject } from 'cloudflare:workers';

/**
 * The Pro render queue, one Durable Object: jobs wait in order; a render node leases the oldest one
 * for a while and keeps the lease alive with heartbeats; a lease that runs out puts the job back for
 * another node; a failure is retried until MAX_ATTEMPTS, then the job fails for good.
 */
export const LEASE_S = 120;
export const MAX_ATTEMPTS = 3;

export type JobStatus = 'queued' | 'leased' | 'done' | 'failed';
export interface JobView {
  readonly id: string;
  readonly userId: string;
  readonly recipeId: string;
  readonly status: JobStatus;
  readonly attempts: number;
  readonly nodeId: string | null;
  readonly leaseExpiresAt: number | null;
  readonly resultKey: string | null;
  readonly error: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

type Row = Record<string, string | number | null>;
const view = (r: Row): JobView => ({
  id: r['id'] as string,
  userId: r['user_id'] as string,
  recipeId: r['recipe_id'] as string,
  status: r['status'] as JobStatus,
  attempts: r['attempts'] as number,
  nodeId: (r['node_id'] as string | null) ?? null,
  leaseExpiresAt: (r['lease_expires_at'] as number | null) ?? null,
  resultKey: (r['result_key'] as string | null) ?? null,
  error: (r['error'] as string | null) ?? null,
  createdAt: r['created_at'] as number,
  updatedAt: r['updated_at'] as number,
});

export class ProQueue extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS jobs (
      id TEXT PRIMARY KEY, user_id TEXT NOT NULL, recipe_id TEXT NOT NULL,
      status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, node_id TEXT, lease_expires_at INTEGER,
      result_key TEXT, error TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
    ctx.storage.sql.exec('CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs (status, created_at)');
  }

  private one(query: string, ...args: (string | number | null)[]): JobView | null {
    const rows = this.ctx.storage.sql.exec<Row>(query, ...args).toArray();
    return rows[0] ? view(rows[0]) : null;
  }

  submit(id: string, userId: string, recipeId: string, now: number): JobView {
    this.ctx.storage.sql.exec("INSERT INTO jobs (id, user_id, recipe_id, status, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?)", id, userId, recipeId, now, now);
    return this.one('SELECT * FROM jobs WHERE id = ?', id) as JobView;
  }

  status(id: string): JobView | null {
    return this.one('SELECT * FROM jobs WHERE id = ?', id);
  }

  submittedSince(userId: string, since: number): number {
    return this.ctx.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM jobs WHERE user_id = ? AND created_at >= ?', userId, since).one().n;
  }

  /** The oldest waiting job (or one whose lease ran out), leased to `nodeId`; null when there is none. */
  lease(nodeId: string, now: number): JobView | null {
    // Leases that ran out: back in line, or failed for good after MAX_ATTEMPTS.
    this.ctx.storage.sql.exec("UPDATE jobs SET status = 'failed', error = 'the render node stopped answering', node_id = NULL, lease_expires_at = NULL, updated_at = ? WHERE status = 'leased' AND lease_expires_at <= ? AND attempts >= ?", now, now, MAX_ATTEMPTS);
    this.ctx.storage.sql.exec("UPDATE jobs SET status = 'queued', node_id = NULL, lease_expires_at = NULL, updated_at = ? WHERE status = 'leased' AND lease_expires_at <= ?", now, now);
    // First in, first out: jobs submitted in the same second go in the order they came (rowid).
    const next = this.one("SELECT * FROM jobs WHERE status = 'queued' ORDER BY created_at, rowid LIMIT 1");
    if (!next) return null;
    this.ctx.storage.sql.exec("UPDATE jobs SET status = 'leased', node_id = ?, lease_expires_at = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?", nodeId, now + LEASE_S, now, next.id);
    return this.status(next.id);
  }

  /** The jobs whose lease `nodeId` holds at `now` (one, as nodes work; none once it ran out). */
  leasedTo(nodeId: string, now: number): JobView[] {
    return this.ctx.storage.sql.exec<Row>("SELECT * FROM jobs WHERE status = 'leased' AND node_id = ? AND lease_expires_at > ?", nodeId, now).toArray().map(view);
  }

  /** The job, if `nodeId` still holds its lease; null when the lease is gone (ran out, or another node's). */
  private held(id: string, nodeId: string, now: number): JobView | null {
    const job = this.status(id);
    return job && job.status === 'leased' && job.nodeId === nodeId && (job.leaseExpiresAt ?? 0) > now ? job : null;
  }

  heartbeat(id: string, nodeId: string, now: number): JobView | null {
    if (!this.held(id, nodeId, now)) return null;
    this.ctx.storage.sql.exec('UPDATE jobs SET lease_expires_at = ?, updated_at = ? WHERE id = ?', now + LEASE_S, now, id);
    return this.status(id);
  }

  complete(id: string, nodeId: string, resultKey: string, now: number): JobView | null {
    if (!this.held(id, nodeId, now)) return null;
    this.ctx.storage.sql.exec("UPDATE jobs SET status = 'done', result_key = ?, node_id = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ?", resultKey, now, id);
    return this.status(id);
  }

  fail(id: string, nodeId: string, reason: string, now: number): JobView | null {
    const job = this.held(id, nodeId, now);
    if (!job) return null;
    const final = job.attempts >= MAX_ATTEMPTS;
    this.ctx.storage.sql.exec('UPDATE jobs SET status = ?, error = ?, node_id = NULL, lease_expires_at = NULL, updated_at = ? WHERE id = ?', final ? 'failed' : 'queued', reason, now, id);
    return this.status(id);
  }
}
