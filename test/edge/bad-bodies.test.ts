import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { BASE, person } from './people.ts';

/**
 * Every route that takes a JSON body, from the OpenAPI document (so a new route joins this sweep
 * by being documented): malformed JSON, the wrong shape and an oversized body each get a 4xx with an
 * error that names the problem, and not one row anywhere changes.
 */

/** Row counts of every table: the whole database's state, cheaply. */
async function fingerprint(): Promise<Record<string, number>> {
  const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations' ORDER BY name").all<{ name: string }>();
  const out: Record<string, number> = {};
  for (const { name } of tables.results) out[name] = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).first<{ n: number }>())?.n ?? -1;
  return out;
}

type Doc = { paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> }; security?: unknown[] }>> };

describe('bad request bodies, on every JSON route', () => {
  it('answer 400 or 413 naming the problem, and write nothing', async () => {
    const [owner, teen] = [await person('sweep'), await person('sweep', 15)];
    // A moderator too, so the review routes reach their body checks.
    await env.DB.prepare("UPDATE users SET role = 'moderator' WHERE id = ?").bind(owner.me.id).run();
    const cameo = await (
      await SELF.fetch(`${BASE}/cameos`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: owner.cookie, 'x-csrf-token': owner.csrf }, body: JSON.stringify({ name: 'Sweep', audience: 'everyone' }) })
    ).json<{ id: string }>();
    const { code } = await (await SELF.fetch(`${BASE}/family/link-code`, { method: 'POST', headers: { cookie: teen.cookie, 'x-csrf-token': teen.csrf } })).json<{ code: string }>();
    expect((await SELF.fetch(`${BASE}/family/children`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: owner.cookie, 'x-csrf-token': owner.csrf }, body: JSON.stringify({ code }) })).status).toBe(201);

    const doc = await (await SELF.fetch(`${BASE}/openapi.json`)).json<Doc>();
    const routes: [string, string][] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) if (op.requestBody?.content['application/json'] && !path.startsWith('/api/render/')) routes.push([method.toUpperCase(), path]);
    }
    // Enough of the API that a regression in one sub-app shows.
    expect(routes.length).toBeGreaterThanOrEqual(20);

    const before = await fingerprint();
    for (const [method, path] of routes) {
      const url = `http://edge.test${path.replace('{id}', path.startsWith('/api/family/') ? teen.me.id : cameo.id)}`;
      const send = (body: string) => SELF.fetch(url, { method, headers: { 'content-type': 'application/json', cookie: owner.cookie, 'x-csrf-token': owner.csrf }, body });
      const label = `${method} ${path}`;

      const malformed = await send('{"recipe": ');
      expect(malformed.status, `${label}: malformed JSON`).toBe(400);
      expect((await malformed.json<{ message: string }>()).message, label).toMatch(/is not valid JSON/);

      const wrongShape = await send('[1, "two", null]');
      expect(wrongShape.status, `${label}: wrong shape`).toBe(400);
      expect((await wrongShape.json<{ code: string; message: string }>()).code, label).toBe('invalid_input');

      const wrongTypes = await send(JSON.stringify({ recipe: 7, handle: false, prompt: 12, code: [], instruction: {}, answer: 3, link: null, action: 1, reason: 2, recipeId: true, name: 5, audience: 9, scope: 0, password: 1, birthDate: 2, challengeId: 3, response: 4 }));
      expect(wrongTypes.status, `${label}: wrong types`).toBe(400);

      // Over every route's limit (64 KiB, or 96 KiB where a base64 C2PA claim travels).
      const oversized = await send(JSON.stringify({ padding: 'x'.repeat(100_000) }));
      expect(oversized.status, `${label}: oversized`).toBe(413);
    }
    expect(await fingerprint()).toEqual(before);
  });
});
