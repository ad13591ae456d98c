/**
 * Content credentials for exported clips: a C2PA manifest that says the clip is AI-generated
 * (`c2pa.created`, digital source type trainedAlgorithmicMedia, the model as software agent) and
 * carries the recipe, signed on the device with its own key (device-identity.ts).
 *
 * c2pa-web (c2pa-rs compiled to WASM) writes and reads the manifest. It signs MP4 (and other BMFF)
 * but not WebM (not among its formats), so WebM clips keep only the file metadata. Its 8 MB WASM is
 * fetched only when the first clip is signed, from the package's own file (Vite emits it as an
 * asset; the dev and test servers serve it from node_modules) and checked against the sha512 that
 * c2pa-web pins; the JavaScript is a small dynamic import. c2pa-web runs the WASM in a worker of
 * its own, nested in whichever worker calls it.
 */
import type { C2paSdk, ManifestDefinition, Signer } from '@contentauth/c2pa-web';
import { coseSign1Es256, coseSign1ReserveSize, ProvenanceError, RecipeSchema, recipeIdOf, withoutConsentTokens, type ProvenanceFailure } from '../../../contracts/index.ts';
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
  | { readonly signed: true; readonly standard: 'c2pa'; readonly deviceId: string; readonly certificateSha256: string }
  | { readonly signed: false; readonly reason: 'not_requested' | 'container_unsupported' };

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
    const detail = error instanceof Error ? error.message : String(error);
    throw new ProvenanceError({ reason }, `the clip could not be signed: ${what} (${detail.slice(0, 300)})`, { cause: error });
  }
}

export interface SignedFile {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly provenance: Extract<ProvenanceReport, { signed: true }>;
}

/** Embeds a signed C2PA manifest in `bytes` (an MP4); throws ProvenanceError, never returns the file unsigned. */
export async function signWithDeviceKey(bytes: Uint8Array<ArrayBuffer>, format: 'video/mp4', recipe: unknown, identities = defaultIdentities): Promise<SignedFile> {
  const identity = await step('key_unavailable', 'the device signing key is unavailable', () => identities.current());
  const c2pa = await step('sdk_unavailable', 'the C2PA library did not load', loadC2pa);
  const certificates = [identity.certificate];
  const reserve = coseSign1ReserveSize(certificates);
  const signer: Signer = {
    alg: 'es256',
    reserveSize: () => Promise.resolve(reserve),
    sign: (claim, size) => coseSign1Es256(claim, { certificates, sign: async (data) => new Uint8Array(await crypto.subtle.sign(ES256, identity.privateKey, data)) }, size),
  };
  const signed = await step('sign_failed', 'C2PA signing failed', async () => {
    const builder = await c2pa.builder.fromDefinition(await clipManifest(recipe, format));
    try {
      await builder.setIntent({ create: TRAINED_ALGORITHMIC_MEDIA });
      return await builder.sign(signer, format, new Blob([bytes], { type: format }));
    } finally {
      await builder.free();
    }
  });
  const certificateSha256 = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', identity.certificate)), (b) => b.toString(16).padStart(2, '0')).join('');
  return { bytes: signed, provenance: { signed: true, standard: 'c2pa', deviceId: identity.deviceId, certificateSha256 } };
}
