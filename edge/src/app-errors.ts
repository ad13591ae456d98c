import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ForbiddenError, InternalError, NotFoundError, RateLimitedError, UnauthorizedError, ValidationError, ZoetropeError } from '../../contracts/index.ts';

/** HTTPExceptions thrown by Hono middleware, as Zoetrope errors with stable codes. */
function fromHttpException(error: HTTPException): ZoetropeError {
  switch (error.status) {
    case 400:
      return new ValidationError([{ field: 'request', message: error.message || 'is malformed' }]);
    case 401:
      return new UnauthorizedError();
    case 403:
      return new ForbiddenError();
    default:
      return new InternalError();
  }
}

/** The one error handler of the API: every failure leaves as `{code, message, details}`. */
export function answerError(error: Error, c: Context): Response {
  const known = error instanceof ZoetropeError ? error : error instanceof HTTPException ? fromHttpException(error) : undefined;
  if (!known) console.error('unhandled error', error);
  const answer = known ?? new InternalError();
  if (answer instanceof RateLimitedError) c.header('Retry-After', String(Math.max(1, Math.ceil(answer.retryAfterS))));
  return c.json(answer.toJSON(), answer.httpStatus as ContentfulStatusCode);
}

export function answerNotFound(c: Context): Response {
  const answer = new NotFoundError({ resource: 'route', id: `${c.req.method} ${new URL(c.req.url).pathname}` });
  return c.json(answer.toJSON(), 404);
}
