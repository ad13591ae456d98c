import type { Context } from 'hono';
import { PayloadTooLargeError, ValidationError } from '../../contracts/index.ts';

/**
 * MP4 files in R2: published videos (one per recipe, at `videos/<recipeId>.mp4`, set by its first
 * publisher, who may replace it; deleted once nobody publishes the recipe) and Pro renders. Uploads
 * are size-limited while they stream and must be ISO-BMFF; downloads honour one byte range.
 */
export const VIDEO_LIMIT_BYTES = 64 * 1024 * 1024;

export const videoKey = (recipeId: string) => `videos/${recipeId}.mp4`;

/** Refuses an upload by its headers, before a byte is read: the content type and the declared size. */
export function checkMp4Headers(c: Context, field: string, limitBytes: number): void {
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'video/mp4') throw new ValidationError([{ field, message: `must be sent as video/mp4 (got ${type || 'no content type'})` }]);
  if (Number(c.req.header('content-length') ?? '0') > limitBytes) throw new PayloadTooLargeError({ limitBytes });
}

/** An uploaded MP4: headers checked, body read within the limit, ftyp box checked. */
export async function readMp4Body(c: Context, field: string, limitBytes = VIDEO_LIMIT_BYTES): Promise<Uint8Array> {
  checkMp4Headers(c, field, limitBytes);
  const bytes = await readLimitedBody(c.req.raw, limitBytes);
  assertMp4(bytes, field);
  return bytes;
}

/**
 * The request body as bytes, refused as soon as it is larger than `limitBytes`: by its declared
 * Content-Length before reading, and while reading (a chunked body declares nothing).
 */
export async function readLimitedBody(request: Request, limitBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  const length = declared === null ? undefined : Number(declared);
  if (length !== undefined && length > limitBytes) throw new PayloadTooLargeError({ limitBytes });
  if (!request.body) return new Uint8Array(0);
  // Sized once from Content-Length (no copy at the end); a chunked body grows it by doubling.
  let buffer = new Uint8Array(length !== undefined && Number.isInteger(length) ? length : 1 << 20);
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limitBytes) {
      await reader.cancel();
      throw new PayloadTooLargeError({ limitBytes });
    }
    if (size + value.byteLength > buffer.byteLength) {
      const grown = new Uint8Array(Math.min(limitBytes, Math.max(buffer.byteLength * 2, size + value.byteLength)));
      grown.set(buffer.subarray(0, size));
      buffer = grown;
    }
    buffer.set(value, size);
    size += value.byteLength;
  }
  return size === buffer.byteLength ? buffer : buffer.subarray(0, size);
}

/** An MP4 (ISO-BMFF) file starts with its `ftyp` box: a 32-bit size ≥ 16, then the four bytes "ftyp", then the major brand. */
export function assertMp4(bytes: Uint8Array, field: string): void {
  if (bytes.byteLength === 0) throw new ValidationError([{ field, message: 'is empty: send the MP4 file as the request body' }]);
  const boxSize = bytes.byteLength >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) : 0;
  const type = String.fromCharCode(...bytes.subarray(4, 8));
  if (bytes.byteLength < 16 || type !== 'ftyp' || boxSize < 16 || boxSize > bytes.byteLength) {
    const first = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ValidationError([{ field, message: `is not an MP4 file: an ISO-BMFF file starts with an ftyp box (size, then "ftyp"), but its first bytes are ${first}` }]);
  }
}

/** A single `bytes=` range of a file of `size` bytes: the whole file (null) when there is no usable Range header. */
export function byteRange(header: string | undefined, size: number): { offset: number; length: number } | null | 'unsatisfiable' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  // Several ranges, or a malformed one: RFC 9110 lets a server answer with the whole file.
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { offset: Math.max(0, size - suffix), length: Math.min(suffix, size) };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { offset: start, length: end - start + 1 };
}


/** Streams an MP4 from R2 (null when it is not there), honouring one byte range. */
export async function serveMp4(c: Context, bucket: R2Bucket, key: string, extraHeaders: Record<string, string>): Promise<Response | null> {
  const head = await bucket.head(key);
  if (!head) return null;
  const headers: Record<string, string> = { 'content-type': 'video/mp4', 'accept-ranges': 'bytes', etag: head.httpEtag, ...extraHeaders };
  const range = byteRange(c.req.header('range'), head.size);
  if (range === 'unsatisfiable') {
    return c.json(new ValidationError([{ field: 'range', message: `is outside the video (${head.size} bytes)` }]).toJSON(), 416, { 'content-range': `bytes */${head.size}` });
  }
  const object = await bucket.get(key, range ? { range } : {});
  if (!object) return null;
  if (!range) return c.body(object.body, 200, { ...headers, 'content-length': String(head.size) });
  return c.body(object.body, 206, { ...headers, 'content-length': String(range.length), 'content-range': `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}` });
}

/** Deletes a recipe's video once nobody publishes the recipe. */
export async function dropVideoIfUnpublished(db: D1Database, bucket: R2Bucket, recipeId: string): Promise<void> {
  const published = await db.prepare('SELECT 1 FROM recipe_publications WHERE recipe_id = ? LIMIT 1').bind(recipeId).first();
  if (!published) await bucket.delete(videoKey(recipeId));
}
