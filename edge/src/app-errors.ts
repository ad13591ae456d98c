import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { InternalError, NotFoundError, PayloadTooLargeError, UnauthorizedError, ValidationError, ZoetropeError } from '../../contracts/index.ts';

/** Hono's own HTTP errors (body limit, bad JSON, …) as Zoetrope errors with stable codes. */
function fromHttpException(error: HTTPException): ZoetropeError {
  switch (error.status) {
    case 400:
      return new ValidationError([{ field: 'body', message: error.message || 'is malformed' }]);
    case 401:
      return new UnauthorizedError();
    case 413:
      return new PayloadTooLargeError({ limitBytes: 0 }, error.message || 'the request body is too large');
    default:
      return new InternalError(error.message);
  }
}

/** The one error handler of the API: every failure leaves as `{code, message, details}`. */
export function answerError(error: Error, c: Context): Response {
  const known = error instanceof ZoetropeError ? error : error instanceof HTTPException ? fromHttpException(error) : undefined;
  if (!known) console.error('unhandled error', error);
  const answer = known ?? new InternalError();
  return c.json(answer.toJSON(), answer.httpStatus as ContentfulStatusCode);
}

export function answerNotFound(c: Context): Response {
  const answer = new NotFoundError({ resource: 'route', id: `${c.req.method} ${new URL(c.req.url).pathname}` });
  return c.json(answer.toJSON(), 404);
}
