import { Task } from '@lit/task';
import { css, html, LitElement, nothing } from 'lit';
import { parseRemixLink, recipeIdOf, type Recipe } from '../../contracts/index.ts';
import { probeCapabilities, type Capabilities } from '../../workers/src/index.ts';
import { fetchHealth } from './edge-client.ts';
import './zt-error-notice.ts';

interface OpenedRecipe {
  readonly recipe: Recipe;
  readonly recipeId: string;
}

/**
 * The app shell: brand, the edge API's health, what this device can run, and the recipe of a
 * remix link opened with `#recipe=…`. Generation, feed and cameos mount here as they land.
 */
export class ZtApp extends LitElement {
  static override properties = { error: { state: true }, opened: { state: true } };
  declare error: unknown;
  declare opened: OpenedRecipe | undefined;

  private readonly health = new Task(this, { task: (_args, { signal }) => fetchHealth(signal), args: () => [] });
  private readonly capabilities = new Task(this, { task: () => probeCapabilities(), args: () => [] });
  private readonly onHashChange = () => void this.openLinkInLocation();

  constructor() {
    super();
    this.error = undefined;
    this.opened = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHashChange);
    void this.openLinkInLocation();
  }

  override disconnectedCallback(): void {
    window.removeEventListener('hashchange', this.onHashChange);
    super.disconnectedCallback();
  }

  private async openLinkInLocation(): Promise<void> {
    if (!location.hash.startsWith('#recipe=')) return;
    try {
      const link = parseRemixLink(location.href);
      if (link.kind === 'recipe') this.opened = { recipe: link.recipe, recipeId: await recipeIdOf(link.recipe) };
      this.error = undefined;
    } catch (error) {
      this.opened = undefined;
      this.error = error;
    }
  }

  static override styles = css`
    :host { display: block; max-width: 960px; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
    header { display: flex; align-items: center; gap: 0.75rem; margin-bottom: 1.5rem; }
    h1 { margin: 0; font-size: 1.6rem; letter-spacing: 0.02em; }
    .tagline { color: #a8a29e; margin: 0; }
    .logo { width: 36px; height: 36px; }
    .cards { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); margin-top: 1rem; }
    section { background: #171a21; border: 1px solid #262a33; border-radius: 12px; padding: 1rem 1.25rem; }
    h2 { margin: 0 0 0.5rem; font-size: 0.85rem; text-transform: uppercase; letter-spacing: 0.08em; color: #a8a29e; }
    dl { display: grid; grid-template-columns: auto 1fr; gap: 0.25rem 1rem; margin: 0; }
    dt { color: #a8a29e; }
    dd { margin: 0; overflow-wrap: anywhere; }
    .pill { display: inline-block; padding: 0.1rem 0.6rem; border-radius: 999px; font-size: 0.85rem; font-weight: 600; }
    .ok { background: #163a26; color: #8ce0a8; }
    .bad { background: #3a1518; color: #ffb4ac; }
    .muted { color: #a8a29e; }
    code { font-size: 0.85em; }
  `;

  private renderHealth() {
    return this.health.render({
      pending: () => html`<p class="muted">Checking…</p>`,
      complete: (h) => html`<p><span class="pill ${h.status === 'ok' ? 'ok' : 'bad'}" data-testid="health-status">${h.status}</span></p>
        <dl>
          <dt>Instance</dt><dd>${h.instance}</dd>
          <dt>Database</dt><dd>${h.checks.d1.ok ? `${h.checks.d1.migrationsApplied} migration${h.checks.d1.migrationsApplied === 1 ? '' : 's'} applied` : `unavailable: ${h.checks.d1.error ?? 'unknown'}`}</dd>
          <dt>Checked</dt><dd>${new Date(h.time).toLocaleTimeString()}</dd>
        </dl>`,
      error: (e) => html`<p><span class="pill bad" data-testid="health-status">unreachable</span></p><zt-error-notice .error=${e}></zt-error-notice>`,
    });
  }

  private renderCapabilities() {
    return this.capabilities.render({
      pending: () => html`<p class="muted">Probing…</p>`,
      complete: (c: Capabilities) => html`<dl data-testid="capabilities">
        <dt>WebGPU</dt><dd>${c.webgpu ? `yes${c.adapter ? ` (${c.adapter})` : ''}${c.shaderF16 ? ', f16' : ''}` : 'no: generation will use WASM'}</dd>
        <dt>WASM threads</dt><dd>${c.wasmThreads}${c.crossOriginIsolated ? '' : ' (page is not cross-origin isolated)'}</dd>
        ${c.webgpu ? html`<dt>Largest buffer</dt><dd>${(c.maxBufferSize / 2 ** 20).toFixed(0)} MiB</dd>` : nothing}
        ${c.deviceMemoryGiB ? html`<dt>Memory</dt><dd>≥ ${c.deviceMemoryGiB} GiB</dd>` : nothing}
      </dl>`,
      error: (e) => html`<zt-error-notice .error=${e}></zt-error-notice>`,
    });
  }

  private renderOpened(opened: OpenedRecipe) {
    const r = opened.recipe;
    return html`<section data-testid="opened-recipe">
      <h2>Remix link</h2>
      <dl>
        <dt>Prompt</dt><dd>${r.prompt}</dd>
        <dt>Seed</dt><dd>${r.seed}</dd>
        <dt>Video</dt><dd>${r.durationS} s · ${r.fps} fps · ${r.width}×${r.height}</dd>
        <dt>Model</dt><dd>${r.model.id} ${r.model.version}</dd>
        <dt>Sampler</dt><dd>${r.steps} steps, guidance ${r.guidance}</dd>
        ${r.shots ? html`<dt>Shots</dt><dd>${r.shots.length}</dd>` : nothing}
        ${r.parent ? html`<dt>Remix of</dt><dd><code>${r.parent}</code></dd>` : nothing}
        <dt>Recipe id</dt><dd><code>${opened.recipeId}</code></dd>
      </dl>
    </section>`;
  }

  override render() {
    return html`
      <header>
        <svg class="logo" viewBox="0 0 32 32" aria-hidden="true"><circle cx="16" cy="16" r="13" fill="none" stroke="#ffb347" stroke-width="4" stroke-dasharray="6 4" /></svg>
        <div>
          <h1>Zoetrope</h1>
          <p class="tagline">Short videos with sound, made in this tab.</p>
        </div>
      </header>
      <zt-error-notice .error=${this.error} @dismiss=${() => (this.error = undefined)}></zt-error-notice>
      ${this.opened ? this.renderOpened(this.opened) : nothing}
      <div class="cards">
        <section><h2>Edge API</h2>${this.renderHealth()}</section>
        <section><h2>This device</h2>${this.renderCapabilities()}</section>
      </div>
    `;
  }
}

customElements.define('zt-app', ZtApp);

declare global {
  interface HTMLElementTagNameMap {
    'zt-app': ZtApp;
  }
}
