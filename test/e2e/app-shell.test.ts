import { readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remixLinkWithRecipe } from '../../contracts/index.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../browser/chromium.ts';
import { DRAFT_RECIPE, DRAFT_RECIPE_ID } from '../fixtures/recipes.ts';
import { startApp, type RunningApp } from '../../scripts/running-app.ts';

// Ports apart from a developer's own `npm start` (5173/8787).
const WEB_PORT = 5391;
const EDGE_PORT = 8891;

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
      .once('connect', () => (socket.destroy(), resolve(true)))
      .once('error', () => resolve(false));
  });
}

/** Every migration in edge/migrations is applied by npm start. */
const MIGRATIONS = readdirSync('edge/migrations').filter((f) => f.endsWith('.sql')).length;

describe('npm start', () => {
  let app: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    app = await startApp(WEB_PORT, EDGE_PORT);
    browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS] });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('serves /api/health from the edge API, also through the web origin', async () => {
    for (const origin of [app.edgeOrigin, app.webOrigin]) {
      const res = await fetch(`${origin}/api/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok', checks: { d1: { ok: true, migrationsApplied: MIGRATIONS } } });
    }
  });

  it('serves the app shell cross-origin isolated, showing the health of the API and the device', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const res = await page.goto(`${app.webOrigin}/`, { waitUntil: 'networkidle0' });
    expect(res?.headers()['cross-origin-embedder-policy']).toBe('require-corp');
    await page.waitForFunction(() => document.querySelector('zt-app')?.shadowRoot?.querySelector('[data-testid="capabilities"]'), { timeout: 60_000 });
    const shell = await page.evaluate(() => {
      const root = document.querySelector('zt-app')?.shadowRoot;
      return {
        isolated: crossOriginIsolated,
        title: root?.querySelector('h1')?.textContent,
        health: root?.querySelector('[data-testid="health-status"]')?.textContent,
        capabilities: root?.querySelector<HTMLElement>('[data-testid="capabilities"]')?.innerText.replace(/\s+/g, ' ').trim(),
      };
    });
    expect(shell).toMatchObject({ isolated: true, title: 'Zoetrope', health: 'ok' });
    expect(shell.capabilities).toMatch(/WebGPU yes/);
    expect(shell.capabilities).toMatch(/WASM threads 2/);
    expect(errors).toEqual([]);
    if (process.env['ZOETROPE_SCREENSHOT']) await page.screenshot({ path: process.env['ZOETROPE_SCREENSHOT'], fullPage: true });
    await page.close();
  });

  it('opens a remix link carried in the fragment, and names the field of a broken one', async () => {
    const page = await browser.newPage();
    await page.goto(remixLinkWithRecipe(app.webOrigin, DRAFT_RECIPE), { waitUntil: 'networkidle0' });
    const text = (selector: string) =>
      page.waitForFunction((s) => document.querySelector('zt-app')?.shadowRoot?.querySelector(s)?.textContent, { timeout: 30_000 }, selector).then((h) => h.jsonValue());
    const opened = String(await text('[data-testid="opened-recipe"]'));
    expect(opened).toContain(DRAFT_RECIPE.prompt);
    expect(opened).toContain(DRAFT_RECIPE_ID);

    await page.goto(`${app.webOrigin}/#recipe=${Buffer.from(JSON.stringify({ ...DRAFT_RECIPE, fps: 500 })).toString('base64url')}`, { waitUntil: 'networkidle0' });
    const notice = await page.waitForFunction(
      () => document.querySelector('zt-app')?.shadowRoot?.querySelector('zt-error-notice')?.shadowRoot?.querySelector('[role="alert"]')?.textContent,
      { timeout: 30_000 },
    );
    expect(String(await notice.jsonValue())).toContain('recipe.fps must be 1–60');
    await page.close();
  });

  it('stops both servers cleanly on Ctrl-C', async () => {
    expect(await app.stop()).toBe(0);
    expect(await listening(WEB_PORT)).toBe(false);
    expect(await listening(EDGE_PORT)).toBe(false);
  });
});
