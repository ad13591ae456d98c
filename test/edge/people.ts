import { SELF } from 'cloudflare:test';
import type { Me } from '../../edge/src/accounts.ts';

/** Signed-in people for the edge tests: each a fresh account with its session cookie and CSRF token. */
export const BASE = 'http://edge.test/api';

export interface Who {
  readonly cookie: string;
  readonly csrf: string;
  readonly me: Me;
}

let made = 0;
const yearsAgo = (years: number) => `${new Date().getUTCFullYear() - years}-01-01`;

/** Signs up a new person (an adult unless `age` says otherwise); `handle` is made unique unless given. */
export async function person(prefix = 'p', age = 30, handle?: string): Promise<Who> {
  const body = { handle: handle ?? `${prefix}_${Date.now() % 100000}_${made++}`, password: 'correct horse battery', birthDate: yearsAgo(age) };
  const res = await SELF.fetch(`${BASE}/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`sign-up of ${body.handle} answered ${res.status}: ${await res.text()}`);
  const me = await res.json<Me>();
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: me.csrfToken, me };
}

/** An API call as `who` (null: signed out). Bytes go as they are with `type`; anything else as JSON. */
export function call(who: Who | null, method: string, path: string, body?: unknown, type = 'application/json'): Promise<Response> {
  return SELF.fetch(`${BASE}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': type }), ...(who ? { cookie: who.cookie, 'x-csrf-token': who.csrf } : {}) },
    body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}
