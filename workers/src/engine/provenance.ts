/**
 * Content credentials for exported clips: a C2PA manifest that says the clip is AI-generated
 * (`c2pa.created`, digital source type trainedAlgorithmicMedia, the model as software agent) and
 * carries the recipe, signed on the device with its own key (device-identity.ts), or by the
 * instance with its key through the edge API (POST /api/provenance/sign, for a recipe the signed-in
 * person published there: what the instance's signature vouches for).
 *
 * c2pa-web (c2pa-rs compiled to WASM) writes and reads the manifest. It signs MP4 (and other BMFF)
 * but not WebM (not among its formats), so WebM clips keep only the file metadata. Its 8 MB WASM is
 * fetched only when the first clip is signed, from the package's own file (Vite emits it as an
 * asset; the dev and test servers serve it from node_modules) and checked against the sha512 that
 * c2pa-web pins; the JavaScript is a small dynamic import. c2pa-web runs the WASM in a worker of
 * its own, nested in whichever worker calls it.
 */
import type { C2paSdk, ManifestDefinition, Signer } from '@contentauth/c2pa-web';
import { base64 } from '@scure/base';
import {
  coseSign1Es256,
  coseSign1ReserveSize,
  deserializeError,
  ProvenanceError,
  RecipeIdSchema,
  RecipeSchema,
  recipeIdOf,
  sha256Hex,
  ValidationError,
  withoutConsentTokens,
  type FieldIssue,
  type ProvenanceFailure,
} from '../../../contracts/index.ts';
import { DeviceIdentityStore } from './device-identity.ts';

/** The claim generator's version: bump with the root package.json. */
export const ZOETROPE_VERSION = '0.1.0';
export const CLAIM_GENERATOR = Object.freeze({ name: 'Zoetrope', version: ZOETROPE_VERSION });
export const TRAINED_ALGORITHMIC_MEDIA = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
/** Label of the assertion that carries the recipe. */
export const RECIPE_ASSERTION_LABEL = 'org.zoetrope.recipe';

/** What the `org.zoetrope.recipe` assertion holds. */
export interface RecipeAssertion {
  /** The recipe as encoded, except that cameos keep only their `cameoId`: consent tokens are short-lived credentials, not provenance. */
  readonly recipe: unknown;
  /** Present when the recipe is a valid Recipe v1 (its id on any instance: `/r/<recipeId>`). */
  readonly recipeId?: string;
  readonly cameoIds: readonly string[];
}

/** What the encoder reports about a file's provenance: signed, or why not. */
export type ProvenanceReport =
  | { readonly signed: true; readonly standard: 'c2pa'; readonly signer: 'device'; readonly deviceId: string; readonly certificateSha256: string }
  | { readonly signed: true; readonly standard: 'c2pa'; readonly signer: 'instance'; readonly instance: string; readonly certificateSha256: string; readonly claimSha256: string }
  | { readonly signed: false; readonly reason: 'not_requested' | 'container_unsupported' };

/** Sign with the instance's key: the signed-in person's session on `edgeOrigin` asks for it. */
export interface InstanceSigning {
  readonly kind: 'instance';
  /** The instance's origin (`https://…`, or http on localhost); the session cookie goes along. */
  readonly edgeOrigin: string;
  /** The session's CSRF token (from sign-in or /api/me). */
  readonly csrfToken: string;
  /** The id of the recipe being encoded, which the person published on that instance. */
  readonly recipeId: string;
}

const C2PA_WASM_URL = new URL('../../../node_modules/@contentauth/c2pa-web/dist/resources/c2pa_bg.wasm', import.meta.url).href;

let sdk: Promise<C2paSdk> | null = null;

/** c2pa-web, loaded on first use and kept for this worker's lifetime; a failed load is retried next time. */
export function loadC2pa(): Promise<C2paSdk> {
  sdk ??= import('@contentauth/c2pa-web')
    .then(({ createC2pa }) => createC2pa({ wasmSrc: C2PA_WASM_URL }))
    .catch((error: unknown) => {
      sdk = null;
      throw error;
    });
  return sdk;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function recipeAssertion(recipe: unknown): Promise<RecipeAssertion> {
  const parsed = RecipeSchema.safeParse(recipe);
  const recipeId = parsed.success ? await recipeIdOf(parsed.data) : undefined;
  const shared = withoutConsentTokens(recipe);
  const cameos: unknown[] = isRecord(shared) && Array.isArray(shared['cameos']) ? shared['cameos'] : [];
  const cameoIds = cameos.flatMap((c) => (isRecord(c) && typeof c['cameoId'] === 'string' ? [c['cameoId']] : []));
  return { recipe: shared, cameoIds, ...(recipeId ? { recipeId } : {}) };
}

/** The manifest for one clip: created by a trained model (the software agent), with the recipe. */
export async function clipManifest(recipe: unknown, format: string): Promise<ManifestDefinition> {
  const r = isRecord(recipe) ? recipe : {};
  const model = isRecord(r['model']) ? r['model'] : {};
  const softwareAgent = typeof model['id'] === 'string' ? { name: model['id'], ...(typeof model['version'] === 'string' ? { version: model['version'] } : {}) } : { ...CLAIM_GENERATOR };
  return {
    claim_generator_info: [{ ...CLAIM_GENERATOR }],
    title: typeof r['prompt'] === 'string' ? r['prompt'].slice(0, 200) : 'Zoetrope clip',
    format,
    assertions: [
      { label: 'c2pa.actions.v2', data: { actions: [{ action: 'c2pa.created', digitalSourceType: TRAINED_ALGORITHMIC_MEDIA, softwareAgent }] } },
      { label: RECIPE_ASSERTION_LABEL, data: await recipeAssertion(recipe) },
    ],
  };
}

const defaultIdentities = new DeviceIdentityStore();
const ES256: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

async function step<T>(reason: ProvenanceFailure, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ProvenanceError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new ProvenanceError({ reason }, `the clip could not be signed: ${what} (${detail.slice(0, 300)})`, { cause: error });
  }
}

export interface SignedFile<R extends ProvenanceReport = Extract<ProvenanceReport, { signed: true }>> {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly provenance: R;
}

/** Builds the clip's manifest and has `signer` sign it into `bytes`; a ProvenanceError the signer threw comes out as it was. */
async function embedManifest(bytes: Uint8Array<ArrayBuffer>, format: 'video/mp4', recipe: unknown, signer: Signer): Promise<Uint8Array<ArrayBuffer>> {
  const c2pa = await step('sdk_unavailable', 'the C2PA library did not load', loadC2pa);
  let refusal: ProvenanceError | undefined;
  const watched: Signer = {
    ...signer,
    sign: (claim, size) =>
      signer.sign(claim, size).catch((error: unknown) => {
        // c2pa-web wraps whatever the callback throws in an error of its own; keep ours.
        if (error instanceof ProvenanceError) refusal = error;
        throw error;
      }),
  };
  return step('sign_failed', 'C2PA signing failed', async () => {
    const builder = await c2pa.builder.fromDefinition(await clipManifest(recipe, format));
    try {
      await builder.setIntent({ create: TRAINED_ALGORITHMIC_MEDIA });
      return await builder.sign(watched, format, new Blob([bytes], { type: format }));
    } catch (error) {
      throw refusal ?? error;
    } finally {
      await builder.free();
    }
  });
}

/** Embeds a signed C2PA manifest in `bytes` (an MP4); throws ProvenanceError, never returns the file unsigned. */
export async function signWithDeviceKey(bytes: Uint8Array<ArrayBuffer>, format: 'video/mp4', recipe: unknown, identities = defaultIdentities): Promise<SignedFile<Extract<ProvenanceReport, { signer: 'device' }>>> {
  const identity = await step('key_unavailable', 'the device signing key is unavailable', () => identities.current());
  const certificates = [identity.certificate];
  const reserve = coseSign1ReserveSize(certificates);
  const signer: Signer = {
    alg: 'es256',
    reserveSize: () => Promise.resolve(reserve),
    sign: (claim, size) => coseSign1Es256(claim, { certificates, sign: async (data) => new Uint8Array(await crypto.subtle.sign(ES256, identity.privateKey, data)) }, size),
  };
  const signed = await embedManifest(bytes, format, recipe, signer);
  return { bytes: signed, provenance: { signed: true, standard: 'c2pa', signer: 'device', deviceId: identity.deviceId, certificateSha256: await sha256Hex(identity.certificate) } };
}

/** Refuses an instance-signing request that is malformed, naming the field under `provenance`. */
export function checkInstanceSigning(value: unknown): InstanceSigning {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  if (v['kind'] !== 'instance') issues.push({ field: 'provenance.kind', message: "must be 'instance'" });
  const origin = typeof v['edgeOrigin'] === 'string' ? v['edgeOrigin'] : '';
  const url = URL.canParse(origin) ? new URL(origin) : null;
  const local = url !== null && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (!url || url.origin !== origin || !(url.protocol === 'https:' || (url.protocol === 'http:' && local))) {
    issues.push({ field: 'provenance.edgeOrigin', message: 'must be an https origin (http only on localhost), with no path' });
  }
  if (typeof v['csrfToken'] !== 'string' || v['csrfToken'].length === 0) issues.push({ field: 'provenance.csrfToken', message: "must be the session's CSRF token" });
  if (!RecipeIdSchema.safeParse(v['recipeId']).success) issues.push({ field: 'provenance.recipeId', message: 'must be a recipe id (52 base32 characters)' });
  if (issues.length > 0) throw new ValidationError(issues);
  return { kind: 'instance', edgeOrigin: origin, csrfToken: v['csrfToken'] as string, recipeId: v['recipeId'] as string };
}

/** The instance vouches for a recipe id: it must be the id of the recipe the clip carries. */
export async function assertRecipeIs(recipe: unknown, recipeId: string): Promise<void> {
  const parsed = RecipeSchema.safeParse(recipe);
  if (!parsed.success || (await recipeIdOf(parsed.data)) !== recipeId) throw new ValidationError([{ field: 'provenance.recipeId', message: 'must be the id of the recipe being encoded (a valid Recipe v1)' }]);
}

/** One call to the instance's provenance API; its error answers become `instance_refused`, anything unusable `instance_unreachable`. */
async function askInstance<T>(fetchFn: typeof fetch, url: string, init: RequestInit, read: (body: Record<string, unknown>) => T | undefined): Promise<T> {
  const unreachable = (why: string, cause?: unknown) => new ProvenanceError({ reason: 'instance_unreachable' }, `the clip could not be signed: the instance at ${new URL(url).origin} ${why}`, { cause });
  let res: Response;
  try {
    res = await fetchFn(url, { ...init, credentials: 'include' });
  } catch (error) {
    throw unreachable(`could not be reached (${error instanceof Error ? error.message : String(error)})`, error);
  }
  const body: unknown = await res.json().catch(() => null);
  const record = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  if (!res.ok) {
    const answer = deserializeError(record);
    throw new ProvenanceError({ reason: 'instance_refused' }, `the clip could not be signed: the instance refused (HTTP ${res.status}: ${answer.message})`, { cause: answer });
  }
  const value = record ? read(record) : undefined;
  if (value === undefined) throw unreachable(`answered ${new URL(url).pathname} with something unusable`);
  return value;
}

const base64Field = (body: Record<string, unknown>, key: string): Uint8Array<ArrayBuffer> | undefined => {
  try {
    return typeof body[key] === 'string' ? new Uint8Array(base64.decode(body[key])) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Embeds a C2PA manifest signed by the instance: c2pa-web's signer sends the claim to POST
 * {edgeOrigin}/api/provenance/sign with the session cookie and CSRF token, and returns the COSE_Sign1
 * it answers. The space reserved for it comes from the instance's certificate (GET …/certificate).
 * Throws ProvenanceError (or ValidationError for bad options), never returns the file unsigned.
 */
export async function signWithInstanceKey(
  bytes: Uint8Array<ArrayBuffer>,
  format: 'video/mp4',
  recipe: unknown,
  options: Omit<InstanceSigning, 'kind'> & { readonly fetch?: typeof fetch },
): Promise<SignedFile<Extract<ProvenanceReport, { signer: 'instance' }>>> {
  const { edgeOrigin, csrfToken, recipeId } = checkInstanceSigning({ ...options, kind: 'instance' });
  await assertRecipeIs(recipe, recipeId);
  const fetchFn = options.fetch ?? fetch;
  const certificate = await askInstance(fetchFn, `${edgeOrigin}/api/provenance/certificate`, { method: 'GET' }, (body) => base64Field(body, 'certificate'));
  const reserve = coseSign1ReserveSize([certificate]);
  let answer: { certificateSha256: string; claimSha256: string } | undefined;
  const signer: Signer = {
    alg: 'es256',
    reserveSize: () => Promise.resolve(reserve),
    sign: async (claim, size) => {
      const signed = await askInstance(
        fetchFn,
        `${edgeOrigin}/api/provenance/sign`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken }, body: JSON.stringify({ recipeId, claim: base64.encode(claim), reserveSize: size }) },
        (body) => {
          const cose = base64Field(body, 'cose');
          const [certificateSha256, claimSha256] = [body['certificateSha256'], body['claimSha256']];
          return cose?.length === size && typeof certificateSha256 === 'string' && typeof claimSha256 === 'string' ? { cose, certificateSha256, claimSha256 } : undefined;
        },
      );
      answer = signed;
      return signed.cose;
    },
  };
  const signed = await embedManifest(bytes, format, recipe, signer);
  if (!answer) throw new ProvenanceError({ reason: 'sign_failed' }, 'the clip could not be signed: c2pa-web never asked the instance to sign');
  return { bytes: signed, provenance: { signed: true, standard: 'c2pa', signer: 'instance', instance: edgeOrigin, certificateSha256: answer.certificateSha256, claimSha256: answer.claimSha256 } };
}
