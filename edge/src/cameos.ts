import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { ANY_AUDIENCE, CONSENT_HEADER, CONSENT_SCOPES, ConsentError, ForbiddenError, NotFoundError, PayloadTooLargeError, UnauthorizedError, UnsupportedError, ValidationError, type ConsentClaims } from '../../contracts/index.ts';
import { requireUser, type AuthEnv, type SessionUser } from './auth.ts';
import { mayContact } from './family.ts';
import { rendersWithConsent, requireNode } from './pro-jobs.ts';
import { parseJsonBody } from './request-body.ts';
import { checkConsent, claimedIssuer, issueConsentToken, revokeConsent } from './signing-keys.ts';
import { dropVideoIfUnpublished } from './videos.ts';

/**
 * Cameos and consent. The owner makes a cameo, chooses who may ask for it (the audience) and grants
 * it person by person; a grantee asks for a consent token, short-lived and signed by this instance,
 * naming the cameo, the grantee, the scope and the owner's restrictions. Revoking a grant revokes
 * every live token issued under it, at once here and within the token's lifetime elsewhere.
 * Nobody but the owner can see a cameo's grants, change it or delete it; its appearance reaches
 * others only when they show a live consent token for it and may use it: its grantee, or a render
 * node rendering a recipe that carries it (`GET /:id/appearance`).
 */
export const CONSENT_TOKEN_TTL_S = 3600;

const AUDIENCE = z.enum(['only_me', 'approved', 'mutuals', 'everyone']);
export const CameoCreateSchema = z.strictObject({ name: z.string().trim().min(1).max(60), audience: AUDIENCE, restrictions: z.string().max(500).default('') });
export const CameoUpdateSchema = z.strictObject({ audience: AUDIENCE.optional(), restrictions: z.string().max(500).optional() });
export const GrantSchema = z.strictObject({ handle: z.string().regex(/^[a-zA-Z0-9_]{3,30}$/, 'must be a handle') });
export const ConsentRequestSchema = z.strictObject({ scope: z.enum(CONSENT_SCOPES) });

interface CameoRow {
  id: string;
  owner_id: string;
  name: string;
  audience: z.infer<typeof AUDIENCE>;
  restrictions: string;
  created_at: number;
}

export interface CameoView {
  readonly id: string;
  readonly name: string;
  readonly audience: string;
  readonly restrictions: string;
  readonly createdAt: number;
  /** Only for the owner. */
  readonly grants?: readonly { handle: string; since: number }[];
}

const nowS = () => Math.floor(Date.now() / 1000);

/**
 * A cameo's reference media, kept in R2 for its owner: an appearance image and a voice sample (the
 * appearance is also served, to draw the cameo, to a live consent token's grantee or a render node
 * rendering a recipe that carries it).
 * The declared type must be one of these, and the bytes must start the way that type does.
 */
export const REFERENCE_KINDS = {
  appearance: { limitBytes: 5 * 1024 * 1024, types: { 'image/png': [[0x89, 0x50, 0x4e, 0x47]], 'image/jpeg': [[0xff, 0xd8, 0xff]], 'image/webp': [[0x52, 0x49, 0x46, 0x46]] } },
  voice: { limitBytes: 10 * 1024 * 1024, types: { 'audio/wav': [[0x52, 0x49, 0x46, 0x46]], 'audio/webm': [[0x1a, 0x45, 0xdf, 0xa3]], 'audio/ogg': [[0x4f, 0x67, 0x67, 0x53]], 'audio/mpeg': [[0x49, 0x44, 0x33], [0xff, 0xfb]] } },
} as const satisfies Record<string, { limitBytes: number; types: Record<string, readonly (readonly number[])[]> }>;
type ReferenceKind = keyof typeof REFERENCE_KINDS;
const referenceKey = (cameoId: string, kind: ReferenceKind) => `cameos/${cameoId}/${kind}`;

function referenceKind(kind: string): ReferenceKind {
  if (kind !== 'appearance' && kind !== 'voice') throw new ValidationError([{ field: 'reference.kind', message: `must be appearance or voice (got ${kind})` }]);
  return kind;
}

async function cameoOf(db: D1Database, id: string): Promise<CameoRow> {
  const row = await db.prepare('SELECT * FROM cameos WHERE id = ?').bind(id).first<CameoRow>();
  if (!row) throw new NotFoundError({ resource: 'cameo', id });
  return row;
}

/** The owner's own cameo; anyone else gets "not found" (a cameo's existence is the owner's business). */
async function ownCameo(db: D1Database, id: string, userId: string): Promise<CameoRow> {
  const row = await cameoOf(db, id);
  if (row.owner_id !== userId) throw new NotFoundError({ resource: 'cameo', id });
  return row;
}

async function view(db: D1Database, row: CameoRow, forOwner: boolean): Promise<CameoView> {
  const base = { id: row.id, name: row.name, audience: row.audience, restrictions: row.restrictions, createdAt: row.created_at };
  if (!forOwner) return base;
  const grants = await db.prepare('SELECT u.handle, g.created_at FROM cameo_grants g JOIN users u ON u.id = g.grantee_id WHERE g.cameo_id = ? ORDER BY g.created_at').bind(row.id).all<{ handle: string; created_at: number }>();
  return { ...base, grants: grants.results.map((g) => ({ handle: g.handle, since: g.created_at })) };
}

async function mayAsk(db: D1Database, cameo: CameoRow, userId: string): Promise<boolean> {
  if (cameo.owner_id === userId) return true;
  if (cameo.audience === 'only_me') return false;
  if (cameo.audience === 'everyone') return true;
  // 'approved': only people the owner granted this cameo. 'mutuals' adds people the owner and they
  // have each granted one of their own cameos: they already trust each other with their likeness.
  if ((await db.prepare('SELECT 1 AS g FROM cameo_grants WHERE cameo_id = ? AND grantee_id = ?').bind(cameo.id, userId).first()) !== null) return true;
  if (cameo.audience !== 'mutuals') return false;
  const mutual = await db
    .prepare(
      `SELECT 1 FROM cameo_grants a JOIN cameos ca ON ca.id = a.cameo_id
       WHERE ca.owner_id = ?1 AND a.grantee_id = ?2
         AND EXISTS (SELECT 1 FROM cameo_grants b JOIN cameos cb ON cb.id = b.cameo_id WHERE cb.owner_id = ?2 AND b.grantee_id = ?1)
       LIMIT 1`,
    )
    .bind(cameo.owner_id, userId)
    .first();
  return mutual !== null;
}

/** A consent token as it travels: three base64url segments (a compact JWS). */
const CONSENT_JWS = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** Who asks for a cameo's appearance: a signed-in person, or a registered render node. */
type AppearanceCaller = { readonly user: SessionUser } | { readonly nodeId: string };

/**
 * Who is asking for an appearance, before any token is looked at: a render node by its bearer token
 * (a request with `Authorization` is a node's, checked as on the render routes), else the session's
 * person. Neither is 401: a consent token is never a credential on its own, since a published
 * recipe shows its tokens to anyone who reads it.
 */
async function appearanceCaller(c: Context<AuthEnv>): Promise<AppearanceCaller> {
  const challenged = (error: unknown) => {
    if (error instanceof UnauthorizedError) c.header('WWW-Authenticate', 'Bearer');
    return error;
  };
  if (c.req.header('authorization') !== undefined) {
    try {
      return { nodeId: await requireNode(c) };
    } catch (error) {
      throw challenged(error);
    }
  }
  const user = c.get('user');
  if (!user) throw challenged(new UnauthorizedError(`sign in as the consent token's grantee or the cameo's owner, or, as a render node, send your node token as Authorization: Bearer <token> (with the consent token as ${CONSENT_HEADER}: <token>)`));
  return { user };
}

const isOrigin = (text: string) => {
  try {
    return new URL(text).origin === text;
  } catch {
    return false;
  }
};

/**
 * The consent token a request shows for cameo `cameoId` in the `Zoetrope-Consent` header, with its
 * claims, checked as a recipe's are (this instance's keys, this cameo, unexpired, unrevoked) but for
 * any audience and scope: who may use it is {@link mayDraw}'s to decide. No token, or one this
 * instance cannot verify, is 401; a verified token that does not (or no longer does) let anyone use
 * this cameo is 403. The cameo itself is not looked at here, so a caller without a valid token for
 * it learns nothing about it.
 */
async function shownConsent(c: Context<AuthEnv>, cameoId: string): Promise<{ token: string; claims: ConsentClaims }> {
  const how = `send a consent token for the cameo as ${CONSENT_HEADER}: <token> (POST /api/cameos/${cameoId}/consent issues one)`;
  const token = c.req.header(CONSENT_HEADER)?.trim() ?? '';
  if (!CONSENT_JWS.test(token)) throw new UnauthorizedError(how);
  const origin = new URL(c.req.url).origin;
  try {
    return { token, claims: await checkConsent(c.env.DB, token, { origin, cameoId, audience: null, scope: null }) };
  } catch (error) {
    const iss = claimedIssuer(token) ?? '';
    // A well-formed token from another instance: its media is that instance's to serve.
    if (error instanceof UnsupportedError && isOrigin(iss)) throw new ConsentError({ reason: 'unknown_key', cameoId }, `consent token refused: it was issued by ${iss}, not by this instance (${origin}), which serves the appearance of its own cameos only`);
    if (error instanceof UnsupportedError) throw new UnauthorizedError(`the consent token names no instance as its issuer: ${how}`);
    if (!(error instanceof ConsentError)) throw error;
    switch (error.reason) {
      case 'malformed':
      case 'bad_signature':
      case 'unknown_key':
        throw new UnauthorizedError(`the consent token is not one this instance issued (${error.reason.replaceAll('_', ' ')}): ${how}`);
      case 'expired':
        throw new ConsentError({ reason: 'expired', cameoId }, `consent token refused: it has expired (POST /api/cameos/${cameoId}/consent issues a new one)`);
      case 'revoked':
        throw new ConsentError({ reason: 'revoked', cameoId }, `consent token refused: it was revoked (by the owner of cameo ${cameoId}, or with the cameo)`);
      default:
        throw new ConsentError({ reason: error.reason, cameoId }, error.message);
    }
  }
}

/**
 * Whether the caller may draw the cameo with this live token: the person it was issued to (`aud`
 * names them, or is `*`: the owner chose "everyone", so any signed-in person), the cameo's owner, or
 * a render node that holds the lease of a job whose recipe carries this very token. Anyone else
 * holding it (it is public in a published recipe) is refused with 403.
 */
async function mayDraw(c: Context<AuthEnv>, caller: AppearanceCaller, token: string, claims: ConsentClaims): Promise<void> {
  const who = "only its grantee, the cameo's owner or a render node rendering a recipe with it may fetch the appearance";
  if ('nodeId' in caller) {
    if (await rendersWithConsent(c.env, caller.nodeId, token)) return;
    throw new ConsentError({ reason: 'wrong_audience', cameoId: claims.sub }, `consent token refused: this render node holds the lease of no job whose recipe carries it; ${who}`);
  }
  const { user } = caller;
  if (claims.aud === ANY_AUDIENCE || claims.aud === `${new URL(c.req.url).origin}/u/${user.handle}`) return;
  // A missing cameo is simply not theirs: whether it exists is answered only to those allowed to ask.
  if ((await c.env.DB.prepare('SELECT 1 AS owns FROM cameos WHERE id = ? AND owner_id = ?').bind(claims.sub, user.id).first()) !== null) return;
  throw new ConsentError({ reason: 'wrong_audience', cameoId: claims.sub }, `consent token refused: it was issued to ${claims.aud}; ${who}`);
}

export const cameos = new Hono<AuthEnv>()
  .post('/', async (c) => {
    const user = requireUser(c);
    const body = await parseJsonBody(c, CameoCreateSchema, 'cameo');
    const id = `cameo_${crypto.randomUUID().replaceAll('-', '').slice(0, 20)}`;
    await c.env.DB.prepare('INSERT INTO cameos (id, owner_id, name, audience, restrictions, created_at) VALUES (?, ?, ?, ?, ?, ?)').bind(id, user.id, body.name, body.audience, body.restrictions, nowS()).run();
    return c.json(await view(c.env.DB, await cameoOf(c.env.DB, id), true), 201);
  })
  .get('/', async (c) => {
    const user = requireUser(c);
    const rows = await c.env.DB.prepare('SELECT * FROM cameos WHERE owner_id = ? ORDER BY created_at DESC').bind(user.id).all<CameoRow>();
    return c.json({ cameos: await Promise.all(rows.results.map((r) => view(c.env.DB, r, true))) });
  })
  .get('/:id', async (c) => {
    const user = requireUser(c);
    const row = await cameoOf(c.env.DB, c.req.param('id'));
    if (!(await mayAsk(c.env.DB, row, user.id))) throw new NotFoundError({ resource: 'cameo', id: row.id });
    return c.json(await view(c.env.DB, row, row.owner_id === user.id));
  })
  .patch('/:id', async (c) => {
    const user = requireUser(c);
    const row = await ownCameo(c.env.DB, c.req.param('id'), user.id);
    const body = await parseJsonBody(c, CameoUpdateSchema, 'cameo');
    await c.env.DB.prepare('UPDATE cameos SET audience = ?, restrictions = ? WHERE id = ?').bind(body.audience ?? row.audience, body.restrictions ?? row.restrictions, row.id).run();
    return c.json(await view(c.env.DB, await cameoOf(c.env.DB, row.id), true));
  })
  .delete('/:id', async (c) => {
    const user = requireUser(c);
    const row = await ownCameo(c.env.DB, c.req.param('id'), user.id);
    const live = await c.env.DB.prepare('SELECT jti FROM consent_tokens WHERE cameo_id = ? AND expires_at > ?').bind(row.id, nowS()).all<{ jti: string }>();
    for (const t of live.results) await revokeConsent(c.env.DB, t.jti);
    await c.env.MEDIA.delete((Object.keys(REFERENCE_KINDS) as ReferenceKind[]).map((k) => referenceKey(row.id, k)));
    await c.env.DB.prepare('DELETE FROM cameos WHERE id = ?').bind(row.id).run();
    return c.body(null, 204);
  })
  .put('/:id/reference/:kind', async (c) => {
    const user = requireUser(c);
    const row = await ownCameo(c.env.DB, c.req.param('id'), user.id);
    const kind = referenceKind(c.req.param('kind'));
    const rules = REFERENCE_KINDS[kind];
    const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const magic = (rules.types as Record<string, readonly (readonly number[])[]>)[type];
    if (!magic) throw new ValidationError([{ field: `reference.${kind}`, message: `must be sent as ${Object.keys(rules.types).join(', ')} (got ${type || 'no content type'})` }]);
    if (Number(c.req.header('content-length') ?? '0') > rules.limitBytes) throw new PayloadTooLargeError({ limitBytes: rules.limitBytes });
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength > rules.limitBytes) throw new PayloadTooLargeError({ limitBytes: rules.limitBytes });
    if (bytes.byteLength === 0 || !magic.some((m) => m.every((b, i) => bytes[i] === b))) throw new ValidationError([{ field: `reference.${kind}`, message: `is not a ${type} file (its first bytes say otherwise)` }]);
    await c.env.MEDIA.put(referenceKey(row.id, kind), bytes, { httpMetadata: { contentType: type }, customMetadata: { owner: user.id } });
    return c.json({ kind, contentType: type, bytes: bytes.byteLength }, 201);
  })
  .get('/:id/reference/:kind', async (c) => {
    const user = requireUser(c);
    const row = await ownCameo(c.env.DB, c.req.param('id'), user.id);
    const kind = referenceKind(c.req.param('kind'));
    const object = await c.env.MEDIA.get(referenceKey(row.id, kind));
    if (!object) throw new NotFoundError({ resource: `${kind} reference of cameo`, id: row.id });
    return c.body(object.body, 200, { 'content-type': object.httpMetadata?.contentType ?? 'application/octet-stream', 'cache-control': 'private, no-store' });
  })
  .get('/:id/appearance', async (c) => {
    // The one way a cameo's appearance leaves for someone other than its owner: a live consent token
    // for it, shown by someone who may use it, so that the grantee's tab or a render node can draw it.
    const caller = await appearanceCaller(c);
    const { token, claims } = await shownConsent(c, c.req.param('id'));
    await mayDraw(c, caller, token, claims);
    const row = await cameoOf(c.env.DB, claims.sub);
    const object = await c.env.MEDIA.get(referenceKey(row.id, 'appearance'));
    if (!object) throw new NotFoundError({ resource: 'appearance reference of cameo', id: row.id });
    return c.body(object.body, 200, { 'content-type': object.httpMetadata?.contentType ?? 'application/octet-stream', 'content-length': String(object.size), 'cache-control': 'private, no-store' });
  })
  .post('/:id/grants', async (c) => {
    const user = requireUser(c);
    const row = await ownCameo(c.env.DB, c.req.param('id'), user.id);
    const { handle } = await parseJsonBody(c, GrantSchema, 'grant');
    const grantee = await c.env.DB.prepare('SELECT id FROM users WHERE handle = ?').bind(handle).first<{ id: string }>();
    if (!grantee) throw new NotFoundError({ resource: 'user', id: handle });
    if (grantee.id === user.id) throw new ValidationError([{ field: 'grant.handle', message: 'names you: your own cameo needs no grant' }]);
    if (!(await mayContact(c.env.DB, user, grantee.id))) throw new ForbiddenError(`${handle} does not accept contact from people they don't know`);
    await c.env.DB.prepare('INSERT INTO cameo_grants (cameo_id, grantee_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').bind(row.id, grantee.id, nowS()).run();
    return c.json(await view(c.env.DB, row, true), 201);
  })
  .delete('/:id/grants/:handle', async (c) => {
    const user = requireUser(c);
    const row = await ownCameo(c.env.DB, c.req.param('id'), user.id);
    const grantee = await c.env.DB.prepare('SELECT id FROM users WHERE handle = ?').bind(c.req.param('handle')).first<{ id: string }>();
    const removed = grantee ? await c.env.DB.prepare('DELETE FROM cameo_grants WHERE cameo_id = ? AND grantee_id = ?').bind(row.id, grantee.id).run() : null;
    if (!grantee || removed?.meta.changes === 0) throw new NotFoundError({ resource: 'grant', id: `${row.id}/${c.req.param('handle')}` });
    // Revoking a grant revokes the live tokens issued under it.
    const live = await c.env.DB.prepare('SELECT jti FROM consent_tokens WHERE cameo_id = ? AND grantee_id = ? AND expires_at > ?').bind(row.id, grantee.id, nowS()).all<{ jti: string }>();
    for (const t of live.results) await revokeConsent(c.env.DB, t.jti);
    return c.json({ revokedTokens: live.results.length });
  })
  .get('/:id/uses', async (c) => {
    const user = requireUser(c);
    const row = await ownCameo(c.env.DB, c.req.param('id'), user.id);
    const uses = await c.env.DB.prepare('SELECT rc.recipe_id, u.handle, rc.created_at FROM recipe_cameos rc JOIN users u ON u.id = rc.publisher_id WHERE rc.cameo_id = ? ORDER BY rc.created_at DESC').bind(row.id).all<{ recipe_id: string; handle: string; created_at: number }>();
    // Drafts: every consent token issued for the cameo is a video someone made (or set out to make)
    // with it, published or not, on any instance the token travels to.
    const drafts = await c.env.DB.prepare(
      'SELECT t.jti, u.handle, t.issued_at, t.expires_at, EXISTS (SELECT 1 FROM consent_revocations r WHERE r.jti = t.jti) AS revoked FROM consent_tokens t JOIN users u ON u.id = t.grantee_id WHERE t.cameo_id = ? ORDER BY t.issued_at DESC LIMIT 200',
    )
      .bind(row.id)
      .all<{ jti: string; handle: string; issued_at: number; expires_at: number; revoked: number }>();
    return c.json({
      uses: uses.results.map((u) => ({ recipeId: u.recipe_id, publishedBy: u.handle, at: u.created_at })),
      drafts: drafts.results.map((d) => ({ jti: d.jti, madeBy: d.handle, at: d.issued_at, expiresAt: d.expires_at, revoked: d.revoked === 1 })),
    });
  })
  .delete('/:id/drafts/:jti', async (c) => {
    // A draft lives on its maker's device; deleting it here revokes its consent token, so it can no
    // longer be published or shown anywhere that checks (here at once, elsewhere within the token's life).
    const user = requireUser(c);
    const row = await ownCameo(c.env.DB, c.req.param('id'), user.id);
    const token = await c.env.DB.prepare('SELECT jti FROM consent_tokens WHERE cameo_id = ? AND jti = ?').bind(row.id, c.req.param('jti')).first<{ jti: string }>();
    if (!token) throw new NotFoundError({ resource: 'draft using cameo', id: `${row.id}/${c.req.param('jti')}` });
    await revokeConsent(c.env.DB, token.jti);
    // If it was published here under that token, the publication comes down too.
    const published = await c.env.DB.prepare('SELECT recipe_id, publisher_id FROM recipe_cameos WHERE cameo_id = ? AND jti = ?').bind(row.id, token.jti).all<{ recipe_id: string; publisher_id: string }>();
    if (published.results.length) {
      await c.env.DB.batch(published.results.flatMap((p) => [
        c.env.DB.prepare('DELETE FROM recipe_publications WHERE recipe_id = ? AND user_id = ?').bind(p.recipe_id, p.publisher_id),
        c.env.DB.prepare('DELETE FROM recipe_cameos WHERE cameo_id = ? AND recipe_id = ? AND publisher_id = ?').bind(row.id, p.recipe_id, p.publisher_id),
      ]));
      for (const p of published.results) await dropVideoIfUnpublished(c.env.DB, c.env.MEDIA, p.recipe_id);
    }
    return c.json({ jti: token.jti, revoked: true, removedPublications: published.results.length });
  })
  .delete('/:id/uses/:recipeId', async (c) => {
    // The owner's say over their likeness: any publication of a recipe that uses the cameo comes down.
    const user = requireUser(c);
    const row = await ownCameo(c.env.DB, c.req.param('id'), user.id);
    const recipeId = c.req.param('recipeId');
    const publishers = await c.env.DB.prepare('SELECT publisher_id FROM recipe_cameos WHERE cameo_id = ? AND recipe_id = ?').bind(row.id, recipeId).all<{ publisher_id: string }>();
    if (publishers.results.length === 0) throw new NotFoundError({ resource: 'use of cameo', id: `${row.id} in ${recipeId}` });
    await c.env.DB.batch([
      ...publishers.results.map((p) => c.env.DB.prepare('DELETE FROM recipe_publications WHERE recipe_id = ? AND user_id = ?').bind(recipeId, p.publisher_id)),
      c.env.DB.prepare('DELETE FROM recipe_cameos WHERE cameo_id = ? AND recipe_id = ?').bind(row.id, recipeId),
    ]);
    await dropVideoIfUnpublished(c.env.DB, c.env.MEDIA, recipeId);
    return c.json({ removedPublications: publishers.results.length });
  })
  .post('/:id/consent', async (c) => {
    const user = requireUser(c);
    const row = await cameoOf(c.env.DB, c.req.param('id'));
    const { scope } = await parseJsonBody(c, ConsentRequestSchema, 'consent');
    if (!(await mayAsk(c.env.DB, row, user.id))) {
      // Whether the cameo exists is not revealed to people outside its audience.
      if (row.audience === 'only_me') throw new NotFoundError({ resource: 'cameo', id: row.id });
      throw new ForbiddenError(`the owner of ${row.name} has not granted you this cameo`);
    }
    const iat = nowS();
    const jti = `jti_${crypto.randomUUID().replaceAll('-', '')}`;
    const origin = new URL(c.req.url).origin;
    const token = await issueConsentToken(c.env.DB, {
      iss: origin,
      sub: row.id,
      aud: `${origin}/u/${user.handle}`,
      scope: [scope],
      iat,
      exp: iat + CONSENT_TOKEN_TTL_S,
      jti,
      ...(row.restrictions ? { restrictions: row.restrictions } : {}),
    });
    await c.env.DB.prepare('INSERT INTO consent_tokens (jti, cameo_id, grantee_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)').bind(jti, row.id, user.id, iat, iat + CONSENT_TOKEN_TTL_S).run();
    c.header('Cache-Control', 'no-store');
    return c.json({ token, expiresAt: iat + CONSENT_TOKEN_TTL_S, audience: `${origin}/u/${user.handle}` }, 201);
  });
