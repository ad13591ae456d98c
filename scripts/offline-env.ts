/** Environment for wrangler/miniflare: no metrics, no banner, no cf fetch (nothing leaves 127.0.0.1). */
export const OFFLINE_WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
} as const;
