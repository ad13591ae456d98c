import type { Context } from 'hono';
import type { z } from 'zod';
import { parseOrThrow, PayloadTooLargeError, ValidationError } from '../../contracts/index.ts';

export const DEFAULT_JSON_LIMIT_BYTES = 64 * 1024;

/**
 * Reads a JSON request body, refusing oversized bodies before parsing, malformed JSON with the
 * parser's reason, and invalid shapes with the offending fields named under `root`.
 */
export async function parseJsonBody<S extends z.ZodType>(c: Context, schema: S, root: string, limitBytes = DEFAULT_JSON_LIMIT_BYTES): Promise<z.output<S>> {
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > limitBytes) throw new PayloadTooLargeError({ limitBytes });
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new ValidationError([{ field: root, message: `must be sent as application/json (got ${type || 'no content type'})` }]);
  }
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > limitBytes) throw new PayloadTooLargeError({ limitBytes });
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch (error) {
    throw new ValidationError([{ field: root, message: `is not valid JSON (${(error as Error).message})` }]);
  }
  return parseOrThrow(schema, value, root);
}
