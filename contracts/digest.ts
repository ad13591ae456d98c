import { base32nopad, hex } from '@scure/base';

const utf8 = new TextEncoder();

/** sha256 of bytes or UTF-8 text, as lowercase hex (WebCrypto: browser, worker, workerd, Node). */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  return hex.encode(await sha256(data));
}

/** sha256 as lowercase RFC 4648 base32 without padding: 52 URL-safe characters. */
export async function sha256Base32(data: Uint8Array | string): Promise<string> {
  return base32nopad.encode(await sha256(data)).toLowerCase();
}

async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === 'string' ? utf8.encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}
