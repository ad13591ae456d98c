/**
 * Errors that cross boundaries. Every error a user or another part can see is a `ZoetropeError`
 * with a stable `code` and typed readonly fields; it serialises to `{code, message, details}` and is
 * rebuilt as the same class on the far side of a worker (comlink) or HTTP boundary.
 */

export const ERROR_CODES = [
  'invalid_input',
  'not_found',
  'unauthorized',
  'forbidden',
  'consent_invalid',
  'conflict',
  'payload_too_large',
  'rate_limited',
  'integrity',
  'quota_exceeded',
  'canceled',
  'unsupported',
  'remote_failed',
  'provenance_failed',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface SerializedError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export abstract class ZoetropeError extends Error {
  abstract override readonly name: string;
  abstract readonly code: ErrorCode;
  /** The HTTP status the edge API answers with. */
  abstract readonly httpStatus: number;

  /** The typed fields, as plain JSON. */
  get details(): Readonly<Record<string, unknown>> {
    return {};
  }

  toJSON(): SerializedError {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export interface FieldIssue {
  /** Dotted path from the root, e.g. `recipe.cameos[0].cameoId`. */
  readonly field: string;
  readonly message: string;
}

/** Bad input: names the offending fields. Nothing was changed. */
export class ValidationError extends ZoetropeError {
  readonly name = 'ValidationError';
  readonly code = 'invalid_input';
  readonly httpStatus = 400;
  readonly issues: readonly FieldIssue[];

  constructor(issues: readonly FieldIssue[], message = issues.map((i) => `${i.field} ${i.message}`).join('; ') || 'invalid input') {
    super(message);
    this.issues = issues;
  }

  /** The first offending field (most errors have one). */
  get field(): string {
    return this.issues[0]?.field ?? '';
  }

  override get details() {
    return { issues: this.issues };
  }
}

export class NotFoundError extends ZoetropeError {
  readonly name = 'NotFoundError';
  readonly code = 'not_found';
  readonly httpStatus = 404;
  readonly resource: string;
  readonly id: string;

  constructor(fields: { resource: string; id: string }, message = `${fields.resource} ${fields.id} was not found`) {
    super(message);
    this.resource = fields.resource;
    this.id = fields.id;
  }

  override get details() {
    return { resource: this.resource, id: this.id };
  }
}

export class UnauthorizedError extends ZoetropeError {
  readonly name = 'UnauthorizedError';
  readonly code = 'unauthorized';
  readonly httpStatus = 401;
  constructor(message = 'sign in to do this') {
    super(message);
  }
}

export class ForbiddenError extends ZoetropeError {
  readonly name = 'ForbiddenError';
  readonly code = 'forbidden';
  readonly httpStatus = 403;
  constructor(message = 'you are not allowed to do this') {
    super(message);
  }
}

export const CONSENT_FAILURES = ['malformed', 'bad_signature', 'expired', 'not_yet_valid', 'wrong_audience', 'wrong_scope', 'revoked', 'unknown_key'] as const;
export type ConsentFailure = (typeof CONSENT_FAILURES)[number];

/** A cameo consent token that may not be used, and why (and, when known, for which cameo). */
export class ConsentError extends ZoetropeError {
  readonly name = 'ConsentError';
  readonly code = 'consent_invalid';
  readonly httpStatus = 403;
  readonly reason: ConsentFailure;
  readonly cameoId: string | undefined;

  constructor(fields: { reason: ConsentFailure; cameoId?: string | undefined }, message = `consent token refused: ${fields.reason.replaceAll('_', ' ')}`) {
    super(message);
    this.reason = fields.reason;
    this.cameoId = fields.cameoId;
  }

  override get details() {
    return this.cameoId === undefined ? { reason: this.reason } : { reason: this.reason, cameoId: this.cameoId };
  }
}

export class ConflictError extends ZoetropeError {
  readonly name = 'ConflictError';
  readonly code = 'conflict';
  readonly httpStatus = 409;
  constructor(message: string) {
    super(message);
  }
}

export class PayloadTooLargeError extends ZoetropeError {
  readonly name = 'PayloadTooLargeError';
  readonly code = 'payload_too_large';
  readonly httpStatus = 413;
  readonly limitBytes: number;

  constructor(fields: { limitBytes: number }, message = `the request body is larger than ${fields.limitBytes} bytes`) {
    super(message);
    this.limitBytes = fields.limitBytes;
  }

  override get details() {
    return { limitBytes: this.limitBytes };
  }
}

export class RateLimitedError extends ZoetropeError {
  readonly name = 'RateLimitedError';
  readonly code = 'rate_limited';
  readonly httpStatus = 429;
  readonly retryAfterS: number;

  constructor(fields: { retryAfterS: number }, message = `too many requests: try again in ${fields.retryAfterS} s`) {
    super(message);
    this.retryAfterS = fields.retryAfterS;
  }

  override get details() {
    return { retryAfterS: this.retryAfterS };
  }
}

/** Downloaded bytes whose sha256 is not the one the manifest promises. */
export class IntegrityError extends ZoetropeError {
  readonly name = 'IntegrityError';
  readonly code = 'integrity';
  readonly httpStatus = 502;
  readonly url: string;
  readonly expected: string;
  readonly actual: string;

  constructor(fields: { url: string; expected: string; actual: string }, message = `${fields.url} failed its integrity check: sha256 ${fields.actual}, expected ${fields.expected}`) {
    super(message);
    this.url = fields.url;
    this.expected = fields.expected;
    this.actual = fields.actual;
  }

  override get details() {
    return { url: this.url, expected: this.expected, actual: this.actual };
  }
}

/** Not enough storage (browser quota, R2 user quota). */
export class QuotaExceededError extends ZoetropeError {
  readonly name = 'QuotaExceededError';
  readonly code = 'quota_exceeded';
  readonly httpStatus = 507;
  readonly neededBytes: number;
  readonly availableBytes: number;

  constructor(fields: { neededBytes: number; availableBytes: number }, message = `needs ${fields.neededBytes} bytes of storage but only ${fields.availableBytes} are free`) {
    super(message);
    this.neededBytes = fields.neededBytes;
    this.availableBytes = fields.availableBytes;
  }

  override get details() {
    return { neededBytes: this.neededBytes, availableBytes: this.availableBytes };
  }
}

/** A job stopped because its AbortSignal fired. */
export class CanceledError extends ZoetropeError {
  readonly name = 'CanceledError';
  readonly code = 'canceled';
  readonly httpStatus = 409;
  constructor(message = 'the job was canceled') {
    super(message);
  }
}

/** This device or instance lacks something the job needs (WebGPU, a codec, a binding). */
export class UnsupportedError extends ZoetropeError {
  readonly name = 'UnsupportedError';
  readonly code = 'unsupported';
  readonly httpStatus = 501;
  readonly feature: string;

  constructor(fields: { feature: string }, message = `${fields.feature} is not supported here`) {
    super(message);
    this.feature = fields.feature;
  }

  override get details() {
    return { feature: this.feature };
  }
}

export const REMOTE_FAILURES = ['unreachable', 'timeout', 'bad_response', 'too_large'] as const;
export type RemoteFailure = (typeof REMOTE_FAILURES)[number];

/** Another Zoetrope instance (federation) could not be reached, or answered with something unusable. */
export class RemoteInstanceError extends ZoetropeError {
  readonly name = 'RemoteInstanceError';
  readonly code = 'remote_failed';
  readonly httpStatus = 502;
  readonly url: string;
  readonly reason: RemoteFailure;

  constructor(fields: { url: string; reason: RemoteFailure }, message = `${fields.url}: ${fields.reason.replaceAll('_', ' ')}`) {
    super(message);
    this.url = fields.url;
    this.reason = fields.reason;
  }

  override get details() {
    return { url: this.url, reason: this.reason };
  }
}

/**
 * `instance_unreachable`: the instance asked to sign could not be reached or answered something
 * unusable; `instance_refused`: it answered with an error (signed out, not your recipe, rate limit…).
 */
export const PROVENANCE_FAILURES = ['key_unavailable', 'sdk_unavailable', 'sign_failed', 'instance_unreachable', 'instance_refused'] as const;
export type ProvenanceFailure = (typeof PROVENANCE_FAILURES)[number];

/**
 * A clip could not be signed with its provenance (C2PA manifest) although signing was asked for:
 * the file is withheld rather than handed out unsigned.
 */
export class ProvenanceError extends ZoetropeError {
  readonly name = 'ProvenanceError';
  readonly code = 'provenance_failed';
  readonly httpStatus = 500;
  readonly reason: ProvenanceFailure;

  constructor(fields: { reason: ProvenanceFailure }, message = `the clip could not be signed: ${fields.reason.replaceAll('_', ' ')}`, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = fields.reason;
  }

  override get details() {
    return { reason: this.reason };
  }
}

/** A bug or an unexpected failure; the message is safe to show, the cause stays local. */
export class InternalError extends ZoetropeError {
  readonly name = 'InternalError';
  readonly code = 'internal';
  readonly httpStatus = 500;
  constructor(message = 'something went wrong on our side', options?: { cause?: unknown }) {
    super(message, options);
  }
}

type Details = Readonly<Record<string, unknown>>;
const str = (d: Details, key: string): string => (typeof d[key] === 'string' ? d[key] : '');
const num = (d: Details, key: string): number => (typeof d[key] === 'number' ? d[key] : 0);

function fieldIssues(d: Details): FieldIssue[] {
  const raw = Array.isArray(d['issues']) ? (d['issues'] as unknown[]) : [];
  return raw.flatMap((i) => {
    if (typeof i !== 'object' || i === null) return [];
    const { field, message } = i as Record<string, unknown>;
    return typeof field === 'string' && typeof message === 'string' ? [{ field, message }] : [];
  });
}

const REBUILD: { readonly [C in ErrorCode]: (message: string, d: Details) => ZoetropeError } = {
  invalid_input: (m, d) => new ValidationError(fieldIssues(d), m),
  not_found: (m, d) => new NotFoundError({ resource: str(d, 'resource'), id: str(d, 'id') }, m),
  unauthorized: (m) => new UnauthorizedError(m),
  forbidden: (m) => new ForbiddenError(m),
  consent_invalid: (m, d) => {
    const reason = CONSENT_FAILURES.find((r) => r === d['reason']) ?? 'malformed';
    return new ConsentError({ reason, ...(typeof d['cameoId'] === 'string' ? { cameoId: d['cameoId'] } : {}) }, m);
  },
  conflict: (m) => new ConflictError(m),
  payload_too_large: (m, d) => new PayloadTooLargeError({ limitBytes: num(d, 'limitBytes') }, m),
  rate_limited: (m, d) => new RateLimitedError({ retryAfterS: num(d, 'retryAfterS') }, m),
  integrity: (m, d) => new IntegrityError({ url: str(d, 'url'), expected: str(d, 'expected'), actual: str(d, 'actual') }, m),
  quota_exceeded: (m, d) => new QuotaExceededError({ neededBytes: num(d, 'neededBytes'), availableBytes: num(d, 'availableBytes') }, m),
  canceled: (m) => new CanceledError(m),
  unsupported: (m, d) => new UnsupportedError({ feature: str(d, 'feature') }, m),
  remote_failed: (m, d) => new RemoteInstanceError({ url: str(d, 'url'), reason: REMOTE_FAILURES.find((r) => r === d['reason']) ?? 'bad_response' }, m),
  provenance_failed: (m, d) => new ProvenanceError({ reason: PROVENANCE_FAILURES.find((r) => r === d['reason']) ?? 'sign_failed' }, m),
  internal: (m) => new InternalError(m),
};

export function isZoetropeError(value: unknown): value is ZoetropeError {
  return value instanceof ZoetropeError;
}

/** Any thrown value as the JSON the other side rebuilds; unknown errors become `internal`. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof ZoetropeError) return error.toJSON();
  if (error instanceof Error && error.name === 'AbortError') return new CanceledError().toJSON();
  return new InternalError().toJSON();
}

/** Rebuilds the error class from `{code, message, details}`; anything malformed becomes InternalError. */
export function deserializeError(value: unknown): ZoetropeError {
  if (typeof value !== 'object' || value === null) return new InternalError('malformed error payload');
  const { code, message, details } = value as Record<string, unknown>;
  const rebuild = typeof code === 'string' && Object.hasOwn(REBUILD, code) ? REBUILD[code as ErrorCode] : undefined;
  if (!rebuild || typeof message !== 'string') return new InternalError(typeof message === 'string' ? message : 'malformed error payload');
  const d = typeof details === 'object' && details !== null && !Array.isArray(details) ? (details as Details) : {};
  return rebuild(message, d);
}
