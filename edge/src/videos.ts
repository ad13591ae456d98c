import type { Context } from 'hono';
import { PayloadTooLargeError, ValidationError } from '../../contracts/index.ts';

/**
 * Published videos in R2. A recipe is content-addressed, so it has one video, at
 * `videos/<recipeId>.mp4`: the first publisher to upload it sets it, and may replace it. When nobody
 * publishes the recipe any more (withdrawn, taken down by a cameo's owner, removed by a moderator)
 * the video goes too.
 */
export const VIDEO_LIMIT_BYTES = 64 * 1024 * 1024;

export const videoKey = (recipeId: string) => `videos/${recipeId}.mp4`;

/** Reads an MP4 request body: video/mp4, within the limit (declared and actual), starting with an ISO-BMFF `ftyp` box. */
export async function readMp4Body(c: Context, field: string, limitBytes = VIDEO_LIMIT_BYTES): Promise<Uint8Array> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'video/mp4') throw new ValidationError([{ field, message: `must be sent as video/mp4 (got ${type || 'no content type'})` }]);
  if (Number(c.req.header('content-length') ?? '0') > limitBytes) throw new PayloadTooLargeError({ limitBytes });
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > limitBytes) throw new PayloadTooLargeError({ limitBytes });
  const ftyp = bytes.byteLength >= 12 && String.fromCharCode(...bytes.subarray(4, 8)) === 'ftyp';
  if (!ftyp) throw new ValidationError([{ field, message: 'is not an MP4 file (it does not start with an ftyp box)' }]);
  return bytes;
}

/** Parses a single `bytes=a-b` / `bytes=a-` / `bytes=-n` Range header into an R2 range; null for none or several. */
export function parseRange(header: string | undefined, size: number): { offset: number; length: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Math.min(Number(m[2]), size);
    return n === 0 ? 'unsatisfiable' : { offset: size - n, length: n };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { offset: start, length: end - start + 1 };
}

/** Streams an R2 object, honouring one byte range (players seek with these). */
export async function serveMp4(c: Context, bucket: R2Bucket, key: string, cacheControl: string): Promise<Response | null> {
  const head = await bucket.head(key);
  if (!head) return null;
  const range = parseRange(c.req.header('range'), head.size);
  if (range === 'unsatisfiable') return new Response(null, { status: 416, headers: { 'content-range': `bytes */${head.size}` } });
  const object = await bucket.get(key, range ? { range } : {});
  if (!object) return null;
  const headers: Record<string, string> = { 'content-type': 'video/mp4', 'accept-ranges': 'bytes', 'cache-control': cacheControl, etag: head.httpEtag };
  if (range) {
    headers['content-range'] = `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}`;
    headers['content-length'] = String(range.length);
    return new Response(object.body, { status: 206, headers });
  }
  headers['content-length'] = String(head.size);
  return new Response(object.body, { status: 200, headers });
}

/** Deletes a recipe's video once nobody publishes the recipe. */
export async function dropVideoIfUnpublished(db: D1Database, bucket: R2Bucket, recipeId: string): Promise<void> {
  const published = await db.prepare('SELECT 1 FROM recipe_publications WHERE recipe_id = ? LIMIT 1').bind(recipeId).first();
  if (!published) await bucket.delete(videoKey(recipeId));
}
