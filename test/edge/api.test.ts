import { env, SELF } from 'cloudflare:test';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import {
  canonicalRecipeJson,
  RecipeSchema,
  deserializeError,
  IntegrityError,
  recipeIdOf,
  signConsentToken,
  ValidationError,
  verifyConsentToken,
  type SerializedError,
} from '../../contracts/index.ts';
import { answerError, answerNotFound } from '../../edge/src/app-errors.ts';
import { readHealth, type Health } from '../../edge/src/health.ts';
import { parseJsonBody } from '../../edge/src/request-body.ts';
import { consentClaims, makeSigningKey, NOW_S } from '../fixtures/consent.ts';
import { DRAFT_RECIPE, DRAFT_RECIPE_ID } from '../fixtures/recipes.ts';

describe('GET /api/health', () => {
  it('reports ok once the migrations are applied to D1', async () => {
    const res = await SELF.fetch('http://edge.test/api/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json<Health>();
    expect(body).toMatchObject({ status: 'ok', service: 'zoetrope-edge', instance: 'Zoetrope (local)', checks: { d1: { ok: true, migrationsApplied: env.TEST_MIGRATIONS.length } } });
    expect(Date.parse(body.time)).not.toBeNaN();
  });

  it('reports degraded when D1 has no migrations table', async () => {
    await env.DB.exec('ALTER TABLE d1_migrations RENAME TO d1_migrations_hidden');
    try {
      const health = await readHealth(env.DB, 'test');
      expect(health.status).toBe('degraded');
      expect(health.checks.d1.ok).toBe(false);
      expect(health.checks.d1.error).toMatch(/no such table/);
    } finally {
      await env.DB.exec('ALTER TABLE d1_migrations_hidden RENAME TO d1_migrations');
    }
  });

  it('has the recipes table the migration created', async () => {
    await env.DB.prepare('INSERT INTO recipes (id, canonical_json, parent_id, model_id, model_version, created_at) VALUES (?, ?, NULL, ?, ?, ?)')
      .bind(DRAFT_RECIPE_ID, canonicalRecipeJson(DRAFT_RECIPE), 'zoetrope-draft', '0.1.0', NOW_S)
      .run();
    await expect(
      env.DB.prepare('INSERT INTO recipes (id, canonical_json, model_id, model_version, created_at) VALUES (?, ?, ?, ?, ?)').bind('short', '{}', 'm', '1', 0).run(),
    ).rejects.toThrow(/CHECK constraint failed/);
  });
});

describe('errors over HTTP', () => {
  it('answers an unknown route with a not_found error body', async () => {
    const res = await SELF.fetch('http://edge.test/api/nope', { method: 'POST' });
    expect(res.status).toBe(404);
    const error = deserializeError(await res.json());
    expect(error).toMatchObject({ code: 'not_found', resource: 'route', id: 'POST /api/nope' });
  });

  it('serialises thrown Zoetrope errors with their status, hides unknown ones', async () => {
    const app = new Hono()
      .get('/validation', () => {
        throw new ValidationError([{ field: 'recipe.durationS', message: 'must be 1–10' }]);
      })
      .get('/integrity', () => {
        throw new IntegrityError({ url: '/x', expected: 'a', actual: 'b' });
      })
      .get('/bug', () => {
        throw new TypeError('cannot read secret of undefined');
      })
      .post('/recipes', async (c) => c.json({ id: await recipeIdOf(await parseJsonBody(c, RecipeSchema, 'recipe', 4096)) }));
    app.onError(answerError);
    app.notFound(answerNotFound);

    const validation = await app.request('/validation');
    expect(validation.status).toBe(400);
    const body = await validation.json<SerializedError>();
    expect(body).toEqual({ code: 'invalid_input', message: 'recipe.durationS must be 1–10', details: { issues: [{ field: 'recipe.durationS', message: 'must be 1–10' }] } });
    expect(deserializeError(body)).toBeInstanceOf(ValidationError);

    const integrity = await app.request('/integrity');
    expect(integrity.status).toBe(502);
    expect(deserializeError(await integrity.json())).toBeInstanceOf(IntegrityError);

    const bug = await app.request('/bug');
    expect(bug.status).toBe(500);
    expect(await bug.json()).toEqual({ code: 'internal', message: 'something went wrong on our side', details: {} });

  });

  it('reads JSON bodies with clear errors for bad type, bad JSON, bad fields and oversize', async () => {
    const app = new Hono().post('/recipes', async (c) => c.json({ id: await recipeIdOf(await parseJsonBody(c, RecipeSchema, 'recipe', 4096)) }));
    app.onError(answerError);
    const post = (body: string, type = 'application/json') => app.request('/recipes', { method: 'POST', body, headers: { 'content-type': type } });

    const ok = await post(JSON.stringify(DRAFT_RECIPE));
    expect(await ok.json()).toEqual({ id: DRAFT_RECIPE_ID });

    const cases: [Response, number, string][] = [
      [await post('{"v":', 'application/json'), 400, 'recipe is not valid JSON'],
      [await post(JSON.stringify(DRAFT_RECIPE), 'text/plain'), 400, 'recipe must be sent as application/json (got text/plain)'],
      [await post(JSON.stringify({ ...DRAFT_RECIPE, fps: 'fast' })), 400, 'recipe.fps must be an integer'],
      [await post(JSON.stringify({ ...DRAFT_RECIPE, prompt: 'x'.repeat(5000) })), 413, 'the request body is larger than 4096 bytes'],
    ];
    for (const [res, status, message] of cases) {
      expect(res.status).toBe(status);
      expect((await res.json<SerializedError>()).message).toContain(message);
    }
  });
});

describe('contracts inside workerd', () => {
  it('computes the same recipe id as Node and the browser', async () => {
    expect(await recipeIdOf(DRAFT_RECIPE)).toBe(DRAFT_RECIPE_ID);
  });

  it('signs and verifies Ed25519 consent tokens with workerd WebCrypto', async () => {
    const owner = await makeSigningKey('edge-key-1');
    const token = await signConsentToken(consentClaims(), owner.privateKey, owner.kid);
    const claims = await verifyConsentToken(token, owner.jwks, { audience: 'user_grantee0001', scope: 'generate', now: new Date((NOW_S + 5) * 1000) });
    expect(claims.jti).toBe('jti_0123456789abcdef');
  });
});

describe('GET /api/openapi.json', () => {
  it('describes every route, with request bodies generated from the zod schemas the routes use', async () => {
    const res = await SELF.fetch('http://edge.test/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = await res.json<{ openapi: string; paths: Record<string, Record<string, { requestBody?: { content: { 'application/json': { schema: { properties?: Record<string, unknown>; required?: string[] } } } } }>> }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      ['/.well-known/jwks.json', '/api/accounts', '/api/cameos', '/api/cameos/{id}', '/api/cameos/{id}/consent', '/api/cameos/{id}/grants', '/api/cameos/{id}/grants/{handle}', '/api/cameos/{id}/reference/{kind}', '/api/cameos/{id}/appearance', '/api/cameos/{id}/uses', '/api/cameos/{id}/uses/{recipeId}', '/api/consent/status/{jti}', '/api/health', '/api/me', '/api/openapi.json', '/api/pro-jobs', '/api/pro-jobs/{id}', '/api/render/lease', '/api/render/jobs/{id}/heartbeat', '/api/render/jobs/{id}/complete', '/api/render/jobs/{id}/fail', '/api/recipes', '/api/recipes/from-link', '/api/recipes/{id}', '/api/recipes/{id}/publication', '/api/sessions', '/api/sessions/current', '/api/cameos/{id}/drafts/{jti}', '/api/recipes/{id}/video', '/api/feed', '/api/feed/steering', '/api/feed/check-in', '/api/settings', '/api/family/link-code', '/api/family/children', '/api/family/children/{id}/settings', '/api/family/children/{id}', '/api/reports', '/api/reports/mine', '/api/moderation/check', '/api/moderation/reports', '/api/moderation/reports/{id}/decision', '/api/passkeys', '/api/passkeys/{id}', '/api/passkeys/authentication', '/api/passkeys/authentication/options', '/api/passkeys/registration', '/api/passkeys/registration/options', '/api/recipes/import-remote', '/api/pro-jobs/{id}/video', '/api/render/jobs/{id}/result', '/api/provenance/sign', '/api/provenance/certificate', '/api/provenance/signatures/{claimSha256}'].sort(),
    );
    const signUp = doc.paths['/api/accounts']!.post!.requestBody!.content['application/json'].schema;
    expect(signUp.required?.sort()).toEqual(['birthDate', 'handle', 'password']);
    const publish = doc.paths['/api/recipes']!.post!.requestBody!.content['application/json'].schema;
    expect(Object.keys(publish.properties ?? {})).toEqual(['recipe']);
    // Every route the app answers is in the document (probing each documented path's method).
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const url = `http://edge.test${path.replace('{id}', 'a'.repeat(52)).replace('{jti}', 'j'.repeat(20)).replace('{handle}', 'someone').replace('{recipeId}', 'b'.repeat(52)).replace('{kind}', 'appearance')}`;
        const probe = await SELF.fetch(url, { method: method.toUpperCase() });
        const body = probe.status === 204 || probe.status === 200 ? null : await probe.json<{ code: string; details?: { resource?: string } }>();
        expect(body?.details?.resource, `${method} ${path} is answered by a route`).not.toBe('route');
      }
    }
  });
});
