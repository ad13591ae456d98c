// The few Web-platform globals that every runtime Zoetrope targets provides (browser page, Web
// Worker, workerd, Node ≥ 20). Declared here instead of pulling in the whole DOM library, so the
// contracts cannot grow a dependency on one environment by accident.
declare class TextEncoder {
  encode(input?: string): Uint8Array<ArrayBuffer>;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
declare class URL {
  constructor(url: string, base?: string | URL);
  readonly hash: string;
  readonly href: string;
  readonly pathname: string;
}
declare class URLSearchParams {
  constructor(init?: string);
  get(name: string): string | null;
}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- opaque handle; each runtime defines its own
interface CryptoKey {}
declare const crypto: {
  readonly subtle: {
    digest(algorithm: 'SHA-256', data: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer>;
    // ES256 and the public half of its key, for the C2PA signing certificate (c2pa-certificate.ts).
    sign(algorithm: { readonly name: 'ECDSA'; readonly hash: 'SHA-256' }, key: CryptoKey, data: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer>;
    exportKey(format: 'spki', key: CryptoKey): Promise<ArrayBuffer>;
  };
  getRandomValues<T extends Uint8Array<ArrayBuffer>>(array: T): T;
};
