import { Hono } from 'hono';
import { z } from 'zod';
import { CONSENT_HEADER, RecipeSchema } from '../../contracts/index.ts';
import { SignInSchema, SignUpSchema } from './accounts.ts';
import { CameoCreateSchema, CameoUpdateSchema, ConsentRequestSchema, GrantSchema } from './cameos.ts';
import type { AuthEnv } from './auth.ts';
import { LinkSchema, SettingsSchema } from './family.ts';
import { CheckInSchema, SteeringSchema } from './feed.ts';
import { DecisionSchema, PolicyCheckSchema, ReportSchema } from './moderation.ts';
import { PasskeyAuthenticationOptionsSchema, PasskeyAuthenticationSchema, PasskeyRegistrationSchema } from './passkeys.ts';
import { SignClaimSchema } from './provenance.ts';
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
const passkeyView = z.object({ id: z.string(), name: z.string(), deviceType: z.enum(['singleDevice', 'multiDevice']), backedUp: z.boolean(), transports: z.array(z.string()), createdAt: z.number(), lastUsedAt: z.number().nullable() });
const webauthnOptions = z.object({ challengeId: z.string(), options: z.record(z.string(), z.unknown()) });
const federatedImportView = recipeView.extend({ origin: z.string(), consent: z.array(z.object({ cameoId: z.string(), issuer: z.string(), jti: z.string(), expiresAt: z.number() })) });
const signedClaimView = z.object({ cose: z.string(), claimSha256: z.string(), certificateSha256: z.string(), signedAt: z.number() });
const instanceCertificateView = z.object({ certificate: z.string(), certificateSha256: z.string(), notBefore: z.number(), notAfter: z.number() });
const claimSignatureView = z.object({ claimSha256: z.string(), recipeId: z.string(), certificateSha256: z.string(), signedAt: z.number() });
const me = z.object({ id: z.string(), handle: z.string(), isTeen: z.boolean(), settings: z.record(z.string(), z.unknown()), csrfToken: z.string() });

/** An OpenAPI 3.1 document (typed loosely on purpose: its literal type is too large to name). */
export type OpenApiDocument = { readonly openapi: '3.1.0'; readonly paths: Record<string, unknown> } & Record<string, unknown>;

export function openApiDocument(serverUrl: string): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: { title: 'Zoetrope edge API', version: '0.1.0', description: 'Accounts, recipes and remix links of a Zoetrope instance. Every error is {code, message, details}.' },
    servers: [{ url: serverUrl }],
    components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'zt_session' }, node: { type: 'http', scheme: 'bearer' }, consent: { type: 'apiKey', in: 'header', name: CONSENT_HEADER, description: `${CONSENT_HEADER}: <jws>: a live consent token for the cameo, from POST /api/cameos/{id}/consent (any scope). Never a credential on its own (a published recipe shows its tokens to anyone): it goes with the session of its grantee (or of the cameo's owner), or with the bearer token of a render node that holds the lease of a job whose recipe carries it` } } },
    paths: {
      '/api/health': { get: { summary: 'Is the instance up, and are its migrations applied?', responses: { '200': { description: 'ok' }, '503': { description: 'degraded' } } } },
      '/api/accounts': { post: { summary: 'Sign up (starts a session)', requestBody: { required: true, content: json(SignUpSchema) }, responses: { '201': { description: 'the new account', content: json(me) }, ...errors(400, 409, 413) } } },
      '/api/sessions': { post: { summary: 'Sign in', requestBody: { required: true, content: json(SignInSchema) }, responses: { '200': { description: 'signed in', content: json(me) }, ...errors(400, 401, 429) } } },
      '/api/sessions/current': { delete: { summary: 'Sign out', security: session, parameters: csrf, responses: { '204': { description: 'signed out' }, ...errors(401, 403) } } },
      '/api/me': { get: { summary: 'The signed-in account', security: session, responses: { '200': { description: 'you', content: json(me) }, ...errors(401) } } },
      '/api/passkeys': { get: { summary: 'Your passkeys', security: session, responses: { '200': { description: '{passkeys}', content: json(z.object({ passkeys: z.array(passkeyView) })) }, ...errors(401) } } },
      '/api/passkeys/{id}': { delete: { summary: 'Remove one of your passkeys', security: session, parameters: [idParam, ...csrf], responses: { '204': { description: 'removed' }, ...errors(401, 403, 404) } } },
      '/api/passkeys/registration/options': { post: { summary: 'Options for navigator.credentials.create(), with the id of their challenge (5 min, single use)', security: session, parameters: csrf, responses: { '200': { description: '{challengeId, options}', content: json(webauthnOptions) }, ...errors(401, 403) } } },
      '/api/passkeys/registration': { post: { summary: "Register a passkey from the browser's RegistrationResponseJSON", security: session, parameters: csrf, requestBody: { required: true, content: json(PasskeyRegistrationSchema) }, responses: { '201': { description: 'the passkey', content: json(passkeyView) }, ...errors(400, 401, 403, 409, 413) } } },
      '/api/passkeys/authentication/options': { post: { summary: 'Options for navigator.credentials.get() (any discoverable passkey, or those of a handle), with the id of their challenge', requestBody: { required: true, content: json(PasskeyAuthenticationOptionsSchema) }, responses: { '200': { description: '{challengeId, options}', content: json(webauthnOptions) }, ...errors(400, 429) } } },
      '/api/passkeys/authentication': { post: { summary: "Sign in with a passkey (the browser's AuthenticationResponseJSON); starts a session", requestBody: { required: true, content: json(PasskeyAuthenticationSchema) }, responses: { '200': { description: 'signed in', content: json(me) }, ...errors(400, 401, 413, 429) } } },
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
      '/api/cameos/{id}/appearance': {
        get: {
          summary: "The cameo's appearance image, to draw it: shown a live consent token this instance issued for this cameo, by someone who may use it: the token's grantee signed in (any signed-in person when its audience is *), the cameo's owner signed in, or a render node (its bearer token) that holds the lease of a job whose recipe carries this very token. 401: no session or node token (or an unknown node token), no consent token, or one this instance cannot verify; 403: the token is expired, revoked, for another cameo or issued by another instance, or the caller is none of those who may use it (reason wrong_audience); 404: no such cameo, or no appearance uploaded",
          security: [{ session: [], consent: [] }, { node: [], consent: [] }],
          parameters: [idParam],
          responses: { '200': { description: 'the image as uploaded (image/png, image/jpeg or image/webp), Cache-Control: private, no-store', content: { 'image/png': { schema: { type: 'string', format: 'binary' } }, 'image/jpeg': { schema: { type: 'string', format: 'binary' } }, 'image/webp': { schema: { type: 'string', format: 'binary' } } } }, ...errors(401, 403, 404) },
        },
      },
      '/api/cameos/{id}/drafts/{jti}': { delete: { summary: "Delete a draft that uses your cameo: revoke its consent token and take down any publication made with it (owner)", security: session, parameters: [idParam, { name: 'jti', in: 'path', required: true, schema: { type: 'string' } }, ...csrf], responses: { '200': { description: '{jti, revoked, removedPublications}' }, ...errors(401, 403, 404) } } },
      '/api/recipes/{id}/video': {
        put: { summary: 'Upload the video of a recipe you published (video/mp4 ≤ 64 MB; the first publisher sets it)', security: session, parameters: [idParam, ...csrf], requestBody: { required: true, content: { 'video/mp4': { schema: { type: 'string', format: 'binary' } } } }, responses: { '201': { description: '{recipeId, bytes, url}' }, ...errors(400, 401, 403, 404, 409, 413) } },
        get: { summary: "A published recipe's video (byte ranges supported)", parameters: [idParam, { name: 'range', in: 'header', schema: { type: 'string' } }], responses: { '200': { description: 'video/mp4' }, '206': { description: 'part of it' }, ...errors(400, 404, 416) } },
      },
      '/api/cameos/{id}/uses': { get: { summary: "Every published recipe (anyone's) and every draft (each consent token issued) that uses the cameo (owner)", security: session, parameters: [idParam], responses: { '200': { description: '{uses}' }, ...errors(401, 404) } } },
      '/api/cameos/{id}/uses/{recipeId}': { delete: { summary: 'Take down every publication of a recipe that uses the cameo (owner)', security: session, parameters: [idParam, { name: 'recipeId', in: 'path', required: true, schema: { type: 'string' } }, ...csrf], responses: { '200': { description: '{removedPublications}' }, ...errors(401, 403, 404) } } },
      '/api/cameos/{id}/consent': { post: { summary: 'A consent token for a cameo you may use (EdDSA JWS, ≤ 1 h)', security: session, parameters: [idParam, ...csrf], requestBody: { required: true, content: json(ConsentRequestSchema) }, responses: { '201': { description: '{token, expiresAt, audience}' }, ...errors(400, 401, 403, 404) } } },
      '/api/pro-jobs': { post: { summary: 'Submit a published recipe for a Pro render (5 per 24 h)', security: session, parameters: csrf, responses: { '201': { description: 'the job, queued' }, ...errors(400, 401, 403, 404, 429) } } },
      '/api/pro-jobs/{id}': { get: { summary: "A Pro job's status (its owner only)", security: session, parameters: [idParam], responses: { '200': { description: 'the job' }, ...errors(401, 404) } } },
      '/api/pro-jobs/{id}/video': {
        get: {
          summary: "A done Pro job's MP4 (its owner only); a single `Range: bytes=…` is answered with 206",
          security: session,
          parameters: [idParam, { name: 'range', in: 'header', required: false, schema: { type: 'string', example: 'bytes=0-1023' } }],
          responses: { '200': { description: 'the video', content: { 'video/mp4': { schema: { type: 'string', format: 'binary' } } } }, '206': { description: 'part of the video (Content-Range says which)' }, '416': { description: 'the range is outside the video' }, ...errors(401, 404, 409) },
        },
      },
      '/api/feed': { get: { summary: 'Your feed, ranked for making and remixing (never watch time) and steered by your instruction; a check-in after a long stretch, and your daily cap', security: session, parameters: [{ name: 'cursor', in: 'query', schema: { type: 'string' } }, { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 50 } }], responses: { '200': { description: "{state: 'ok', items, nextCursor, steering, time} | {state: 'check-in', …} | {state: 'daily-limit', …}" }, ...errors(400, 401) } } },
      '/api/feed/steering': {
        get: { summary: 'Your steering instruction and how it was read', security: session, responses: { '200': { description: '{instruction, weights, exclude, only, unrecognized, explanation}' }, ...errors(401) } },
        put: { summary: 'Steer the feed in plain language ("more basketball, less toppling boxes, nothing loud"); explained back', security: session, parameters: csrf, requestBody: { required: true, content: json(SteeringSchema) }, responses: { '200': { description: '{instruction, weights, exclude, only, unrecognized, explanation}' }, ...errors(400, 401, 403) } },
      },
      '/api/feed/check-in': { post: { summary: 'Answer a wellbeing check-in (a new stretch starts)', security: session, parameters: csrf, requestBody: { required: true, content: json(CheckInSchema) }, responses: { '200': { description: '{answer, message}' }, ...errors(400, 401, 403) } } },
      '/api/settings': {
        get: { summary: 'Your limits and filters, and your linked parent (teens)', security: session, responses: { '200': { description: '{settings, linkedParent}' }, ...errors(401) } },
        patch: { summary: 'Change your settings (a teen may only tighten them)', security: session, parameters: csrf, requestBody: { required: true, content: json(SettingsSchema) }, responses: { '200': { description: '{settings}' }, ...errors(400, 401, 403) } },
      },
      '/api/family/link-code': { post: { summary: 'Teen: a 15-minute code that links a parent account', security: session, parameters: csrf, responses: { '201': { description: '{code, expiresAt}' }, ...errors(401, 403, 409) } } },
      '/api/family/children': {
        get: { summary: "Parent: your linked teens' settings and feed time (never their content)", security: session, responses: { '200': { description: '{children}' }, ...errors(401) } },
        post: { summary: "Parent: link a teen account with the teen's code", security: session, parameters: csrf, requestBody: { required: true, content: json(LinkSchema) }, responses: { '201': { description: 'the linked teen' }, ...errors(400, 401, 403, 409) } },
      },
      '/api/family/children/{id}/settings': { patch: { summary: "Parent: set a linked teen's limits", security: session, parameters: [idParam, ...csrf], requestBody: { required: true, content: json(SettingsSchema) }, responses: { '200': { description: 'the linked teen' }, ...errors(400, 401, 403, 404) } } },
      '/api/family/children/{id}': { delete: { summary: 'Parent: unlink a teen account', security: session, parameters: [idParam, ...csrf], responses: { '204': { description: 'unlinked' }, ...errors(401, 403, 404) } } },
      '/api/reports': { post: { summary: 'Report a published recipe to the moderators', security: session, parameters: csrf, requestBody: { required: true, content: json(ReportSchema) }, responses: { '201': { description: 'the report' }, ...errors(400, 401, 403, 404, 409) } } },
      '/api/reports/mine': { get: { summary: 'Your reports and what was decided', security: session, responses: { '200': { description: '{reports}' }, ...errors(401) } } },
      '/api/moderation/check': { post: { summary: 'Check a prompt against the policy before generating (your filter applies when signed in)', requestBody: { required: true, content: json(PolicyCheckSchema) }, responses: { '200': { description: '{allowed, violations}' }, ...errors(400) } } },
      '/api/moderation/reports': { get: { summary: 'Moderators: the review queue, oldest first', security: session, parameters: [{ name: 'status', in: 'query', schema: { enum: ['open', 'dismissed', 'removed'] } }], responses: { '200': { description: '{reports}' }, ...errors(400, 401, 403) } } },
      '/api/moderation/reports/{id}/decision': { post: { summary: 'Moderators: dismiss a report, or remove the recipe from this instance', security: session, parameters: [idParam, ...csrf], requestBody: { required: true, content: json(DecisionSchema) }, responses: { '200': { description: '{id, recipeId, status}' }, ...errors(400, 401, 403, 404, 409) } } },
      '/api/render/lease': { post: { summary: 'Render node: lease the oldest waiting job (204 when none)', security: [{ node: [] }], responses: { '200': { description: '{id, recipeId, recipe, leaseExpiresAt, leaseS, attempt}: heartbeat well within leaseS seconds' }, '204': { description: 'nothing waiting' }, ...errors(401) } } },
      '/api/render/jobs/{id}/heartbeat': { post: { summary: 'Render node: keep the lease alive', security: [{ node: [] }], parameters: [idParam], responses: { '200': { description: '{id, leaseExpiresAt}' }, ...errors(401, 409) } } },
      '/api/render/jobs/{id}/result': {
        put: {
          summary: "Render node: upload the job's MP4 (video/mp4, ≤ 64 MB, starting with an ISO-BMFF ftyp box) while holding its lease; stored in R2 at renders/<id>.mp4, which completes the job",
          security: [{ node: [] }],
          parameters: [idParam],
          requestBody: { required: true, content: { 'video/mp4': { schema: { type: 'string', format: 'binary' } } } },
          responses: { '200': { description: '{id, status: done, resultKey, bytes}' }, ...errors(400, 401, 409, 413) },
        },
      },
      '/api/render/jobs/{id}/complete': { post: { summary: 'Render node: the render is already stored at resultKey (PUT …/result stores and completes in one call)', security: [{ node: [] }], parameters: [idParam], responses: { '200': { description: '{id, status}' }, ...errors(400, 401, 409) } } },
      '/api/render/jobs/{id}/fail': { post: { summary: 'Render node: the render failed (retried up to 3 attempts)', security: [{ node: [] }], parameters: [idParam], responses: { '200': { description: '{id, status, attempts}' }, ...errors(400, 401, 409) } } },
      '/api/consent/status/{jti}': { get: { summary: 'Is this consent token revoked? (other instances ask before honouring it)', parameters: [{ name: 'jti', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' } }], responses: { '200': { description: '{jti, revoked}' }, ...errors(400) } } },
      '/api/provenance/sign': { post: { summary: "Sign a C2PA claim with the instance's key, for a recipe you published here (60 per hour); answers the COSE_Sign1 c2pa-web's signer returns, exactly reserveSize bytes. The signature says only that an account here that published the recipe asked for this claim", security: session, parameters: csrf, requestBody: { required: true, content: json(SignClaimSchema) }, responses: { '200': { description: 'the signature', content: json(signedClaimView) }, ...errors(400, 401, 403, 404, 409, 413, 429) } } },
      '/api/provenance/certificate': { get: { summary: "The instance's C2PA signing certificate (self-issued; pin it to trust claims this instance signed)", responses: { '200': { description: 'the certificate', content: json(instanceCertificateView) } } } },
      '/api/provenance/signatures/{claimSha256}': { get: { summary: 'Did this instance sign the C2PA claim with this sha256, for which recipe, and when?', parameters: [{ name: 'claimSha256', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } }], responses: { '200': { description: 'the signature record', content: json(claimSignatureView) }, ...errors(400, 404) } } },
      '/.well-known/jwks.json': { get: { summary: "The instance's consent-token public keys (the active one and those retired within 12 h)", responses: { '200': { description: 'a JWK set' } } } },
      '/api/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}

export const openapi = new Hono<AuthEnv>().get('/', (c) => {
  c.header('Cache-Control', 'public, max-age=300');
  return c.json(openApiDocument(new URL(c.req.url).origin));
});
