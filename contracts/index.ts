// The shared contracts of Zoetrope (DESIGN.md § Contracts). Environment-neutral: compiled with no
// DOM, webworker or Node library, so web/, workers/, edge/ and render/ can all import it.
export { canonicalJson } from './canonical-json.ts';
export { cborHead, CborTag, encodeCbor, type Cbor } from './cbor.ts';
// contracts/c2pa-certificate.ts (issueSigningCertificate) is imported by path, not from here: it
// brings the ASN.1 libraries (~110 KB), which the web app's bundle should not carry.
export {
  ANY_AUDIENCE,
  CONSENT_HEADER,
  CONSENT_SCOPES,
  CONSENT_TOKEN_MAX_LIFETIME_S,
  CONSENT_TOKEN_TYPE,
  ConsentClaimsSchema,
  parseConsentClaims,
  signConsentToken,
  verifyConsentToken,
  type ConsentClaims,
  type ConsentExpectation,
  type ConsentScope,
} from './consent.ts';
export { coseSign1Es256, coseSign1Fits, coseSign1MinimumSize, coseSign1ReserveSize, type CoseEs256Signer } from './cose-sign1.ts';
export { sha256Base32, sha256Hex } from './digest.ts';
export {
  CanceledError,
  ConflictError,
  CONSENT_FAILURES,
  ConsentError,
  deserializeError,
  ERROR_CODES,
  ForbiddenError,
  IntegrityError,
  InternalError,
  isZoetropeError,
  NotFoundError,
  PayloadTooLargeError,
  PROVENANCE_FAILURES,
  ProvenanceError,
  QuotaExceededError,
  RateLimitedError,
  REMOTE_FAILURES,
  RemoteInstanceError,
  serializeError,
  UnauthorizedError,
  UnsupportedError,
  ValidationError,
  ZoetropeError,
  type ConsentFailure,
  type ErrorCode,
  type FieldIssue,
  type ProvenanceFailure,
  type RemoteFailure,
  type SerializedError,
} from './errors.ts';
export {
  FileRefSchema,
  GRAPH_ROLES,
  GraphSchema,
  MANIFEST_VERSION,
  ManifestSchema,
  manifestFiles,
  manifestTotalBytes,
  MAX_SHARD_BYTES,
  parseManifest,
  parseManifestJson,
  TemperatureSchema,
  TENSOR_DTYPES,
  type FileRef,
  type GraphRole,
  type GraphSpec,
  type Manifest,
  type Temperature,
  type TensorSpec,
} from './manifest.ts';
export { gaussianNoise, NOISE_STREAM, philox4x32, type PhiloxCounter, type PhiloxKey } from './noise.ts';
export { progressFraction, ProgressSchema, type JobState, type Progress, type ProgressListener, type ProgressStatus } from './progress.ts';
export {
  canonicalRecipeJson,
  normalizePrompt,
  parseRecipe,
  parseRemixLink,
  RECIPE_LIMITS,
  RECIPE_VERSION,
  RecipeIdSchema,
  RecipeSchema,
  recipeIdOf,
  remixLinkById,
  remixLinkWithRecipe,
  withoutConsentTokens,
  type CameoUse,
  type Recipe,
  type RecipeId,
  type RemixLink,
  type Shot,
} from './recipe.ts';
export { fieldPath, parseOrThrow } from './validation.ts';
export { TOKENIZER_SPECIALS, TOKENIZER_VERSION, TokenizerJsonSchema, WordTokenizer, type EncodedPrompt, type TokenizerJson } from './tokenizer.ts';
export { FEED_TOPICS, MAX_INSTRUCTION_LENGTH, parseFeedInstruction, steerItem, topicsIn, topicsOfPrompt, type FeedSteering, type FeedTopic, type FeedTopicId } from './feed-steering.ts';
export { checkPrompt, describeViolations, POLICY_CATEGORIES, type PolicyCategory, type PolicyOptions, type PolicyVerdict, type PolicyViolation } from './prompt-policy.ts';
