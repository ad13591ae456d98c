import { Hono } from 'hono';
import { z } from 'zod';
import { RecipeSchema } from '../../contracts/index.ts';
import { SignInSchema, SignUpSchema } from './accounts.ts';
import { CameoCreateSchema, CameoUpdateSchema, ConsentRequestSchema, GrantSchema } from './cameos.ts';
import type { AuthEnv } from './auth.ts';
import { ImportSchema, PublishSchema } from './recipes.ts';

/**
 * The API described as OpenAPI 3.1, generated from the zod schemas the routes validate with, so the
 * document cannot drift from what the server accepts.
 */
const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) } });
const ErrorBody = z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((code) => [String(code), { description: 'an error: {code, message, details}', content: json(ErrorBody) }]));
const csrf = [{ name: 'x-csrf-token', in: 'header', required: true, description: "the session's CSRF token (from sign-up, sign-in or /me)", schema: { type: 'string' } }];
const session = [{ session: [] }];
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const recipeView = z.object({ id: z.string(), recipe: RecipeSchema, parent: z.string().nullable(), children: z.array(z.string()), publishedAt: z.number() });
const federatedImportView = recipeView.extend({ origin: z.string(), consent: z.array(z.object({ cameoId: z.string(), issuer: z.string(), jti: z.string(), expiresAt: z.number() })) });
const me = z.object({ id: z.string(), handle: z.string(), isTeen: z.boolean(), settings: z.record(z.string(), z.unknown()), csrfToken: z.string() });

/** An OpenAPI 3.1 document (typed loosely on purpose: its literal type is too large to name). */
export type OpenApiDocument = { readonly openapi: '3.1.0'; readonly paths: Record<string, unknown> } & Record<string, unknown>;

export function openApiDocument(serverUrl: string): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: { title: 'Zoetrope edge API', version: '0.1.0', description: 'Accounts, recipes and remix links of a Zoetrope instance. Every error is {code, message, details}.' },
    servers: [{ url: serverUrl }],
    components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'zt_session' }, node: { type: 'http', scheme: 'bearer' } } },
    paths: {
      '/api/health': { get: { summary: 'Is the instance up, and are its migrations applied?', responses: { '200': { description: 'ok' }, '503': { description: 'degraded' } } } },
      '/api/accounts': { post: { summary: 'Sign up (starts a session)', requestBody: { required: true, content: json(SignUpSchema) }, responses: { '201': { description: 'the new account', content: json(me) }, ...errors(400, 409, 413) } } },
      '/api/sessions': { post: { summary: 'Sign in', requestBody: { required: true, content: json(SignInSchema) }, responses: { '200': { description: 'signed in', content: json(me) }, ...errors(400, 401, 429) } } },
      '/api/sessions/current': { delete: { summary: 'Sign out', security: session, parameters: csrf, responses: { '204': { description: 'signed out' }, ...errors(401, 403) } } },
      '/api/me': { get: { summary: 'The signed-in account', security: session, responses: { '200': { description: 'you', content: json(me) }, ...errors(401) } } },
      '/api/recipes': { post: { summary: 'Publish a recipe (each cameo it uses needs a valid, unrevoked consent token for you)', security: session, parameters: csrf, requestBody: { required: true, content: json(PublishSchema) }, responses: { '201': { description: 'the recipe with its lineage', content: json(recipeView) }, ...errors(400, 401, 403, 413) } } },
      '/api/recipes/from-link': { post: { summary: 'Accept a remix link (a /r/<id> link or a #recipe= fragment)', security: session, parameters: csrf, requestBody: { required: true, content: json(ImportSchema) }, responses: { '200': { description: 'a recipe already here', content: json(recipeView) }, '201': { description: 'an imported recipe', content: json(recipeView) }, ...errors(400, 401, 403, 404) } } },
      '/api/recipes/import-remote': { post: { summary: "Import a recipe from another instance (its /r/<id> or #recipe= link); every cameo's consent token is verified against its issuer's JWKS and revocation status first", security: session, parameters: csrf, requestBody: { required: true, content: json(ImportSchema) }, responses: { '201': { description: 'the imported recipe, its origin and the consent verified', content: json(federatedImportView) }, ...errors(400, 401, 403, 404, 413, 502) } } },
      '/api/recipes/{id}': { get: { summary: 'A recipe with its parent and remixes', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z2-7]{52}$' } }], responses: { '200': { description: 'the recipe', content: json(recipeView) }, ...errors(400, 404) } } },
      '/api/recipes/{id}/publication': { delete: { summary: 'Withdraw your publication of a recipe', security: session, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, ...csrf], responses: { '204': { description: 'withdrawn' }, ...errors(401, 403, 404) } } },
      '/api/cameos': {
        get: { summary: 'Your cameos, with their grants', security: session, responses: { '200': { description: '{cameos}' }, ...errors(401) } },
        post: { summary: 'Make a cameo', security: session, parameters: csrf, requestBody: { required: true, content: json(CameoCreateSchema) }, responses: { '201': { description: 'the cameo' }, ...errors(400, 401, 403) } },
      },
      '/api/cameos/{id}': {
        get: { summary: 'A cameo (its grants only for the owner; hidden from people outside its audience)', security: session, parameters: [idParam], responses: { '200': { description: 'the cameo' }, ...errors(401, 404) } },
        patch: { summary: 'Change the audience or restrictions (owner)', security: session, parameters: [idParam, ...csrf], requestBody: { required: true, content: json(CameoUpdateSchema) }, responses: { '200': { description: 'the cameo' }, ...errors(400, 401, 403, 404) } },
        delete: { summary: 'Delete a cameo and revoke every live token (owner)', security: session, parameters: [idParam, ...csrf], responses: { '204': { description: 'deleted' }, ...errors(401, 403, 404) } },
      },
      '/api/cameos/{id}/grants': { post: { summary: 'Grant the cameo to a person (owner)', security: session, parameters: [idParam, ...csrf], requestBody: { required: true, content: json(GrantSchema) }, responses: { '201': { description: 'the cameo with its grants' }, ...errors(400, 401, 403, 404) } } },
      '/api/cameos/{id}/grants/{handle}': { delete: { summary: "Revoke a person's grant and its live tokens (owner)", security: session, parameters: [idParam, { name: 'handle', in: 'path', required: true, schema: { type: 'string' } }, ...csrf], responses: { '200': { description: '{revokedTokens}' }, ...errors(401, 403, 404) } } },
      '/api/cameos/{id}/reference/{kind}': {
        put: { summary: 'Upload the appearance image (png, jpeg, webp ≤ 5 MB) or voice sample (wav, webm, ogg, mp3 ≤ 10 MB) (owner)', security: session, parameters: [idParam, { name: 'kind', in: 'path', required: true, schema: { enum: ['appearance', 'voice'] } }, ...csrf], responses: { '201': { description: '{kind, contentType, bytes}' }, ...errors(400, 401, 403, 404, 413) } },
        get: { summary: 'Download a reference (owner only)', security: session, parameters: [idParam, { name: 'kind', in: 'path', required: true, schema: { enum: ['appearance', 'voice'] } }], responses: { '200': { description: 'the file' }, ...errors(400, 401, 404) } },
      },
      '/api/cameos/{id}/uses': { get: { summary: "Every published recipe that uses the cameo, anyone's (owner)", security: session, parameters: [idParam], responses: { '200': { description: '{uses}' }, ...errors(401, 404) } } },
      '/api/cameos/{id}/uses/{recipeId}': { delete: { summary: 'Take down every publication of a recipe that uses the cameo (owner)', security: session, parameters: [idParam, { name: 'recipeId', in: 'path', required: true, schema: { type: 'string' } }, ...csrf], responses: { '200': { description: '{removedPublications}' }, ...errors(401, 403, 404) } } },
      '/api/cameos/{id}/consent': { post: { summary: 'A consent token for a cameo you may use (EdDSA JWS, ≤ 1 h)', security: session, parameters: [idParam, ...csrf], requestBody: { required: true, content: json(ConsentRequestSchema) }, responses: { '201': { description: '{token, expiresAt, audience}' }, ...errors(400, 401, 403, 404) } } },
      '/api/pro-jobs': { post: { summary: 'Submit a published recipe for a Pro render (5 per 24 h)', security: session, parameters: csrf, responses: { '201': { description: 'the job, queued' }, ...errors(400, 401, 403, 404, 429) } } },
      '/api/pro-jobs/{id}': { get: { summary: "A Pro job's status (its owner only)", security: session, parameters: [idParam], responses: { '200': { description: 'the job' }, ...errors(401, 404) } } },
      '/api/render/lease': { post: { summary: 'Render node: lease the oldest waiting job (204 when none)', security: [{ node: [] }], responses: { '200': { description: '{id, recipe, leaseExpiresAt, attempt}' }, '204': { description: 'nothing waiting' }, ...errors(401) } } },
      '/api/render/jobs/{id}/heartbeat': { post: { summary: 'Render node: keep the lease alive', security: [{ node: [] }], parameters: [idParam], responses: { '200': { description: '{id, leaseExpiresAt}' }, ...errors(401, 409) } } },
      '/api/render/jobs/{id}/complete': { post: { summary: 'Render node: the render is in R2', security: [{ node: [] }], parameters: [idParam], responses: { '200': { description: '{id, status}' }, ...errors(400, 401, 409) } } },
      '/api/render/jobs/{id}/fail': { post: { summary: 'Render node: the render failed (retried up to 3 attempts)', security: [{ node: [] }], parameters: [idParam], responses: { '200': { description: '{id, status, attempts}' }, ...errors(400, 401, 409) } } },
      '/api/consent/status/{jti}': { get: { summary: 'Is this consent token revoked? (other instances ask before honouring it)', parameters: [{ name: 'jti', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' } }], responses: { '200': { description: '{jti, revoked}' }, ...errors(400) } } },
      '/.well-known/jwks.json': { get: { summary: "The instance's consent-token public keys (the active one and those retired within 12 h)", responses: { '200': { description: 'a JWK set' } } } },
      '/api/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}

export const openapi = new Hono<AuthEnv>().get('/', (c) => {
  c.header('Cache-Control', 'public, max-age=300');
  return c.json(openApiDocument(new URL(c.req.url).origin));
});
