import { css, html, LitElement, nothing } from 'lit';
import { deserializeError, serializeError, ValidationError, ZoetropeError } from '../../contracts/index.ts';

/**
 * The one place the UI shows errors: a Zoetrope error's message (and the fields it names), or a
 * generic line for anything else. Set `error`; the close button fires `dismiss`.
 *
 * @fires dismiss - the person closed the notice
 * @csspart notice - the notice box
 */
export class ZtErrorNotice extends LitElement {
  static override properties = { error: { attribute: false } };
  declare error: unknown;

  constructor() {
    super();
    this.error = undefined;
  }

  static override styles = css`
    :host { display: block; }
    .notice { display: flex; gap: 0.75rem; align-items: start; padding: 0.75rem 1rem; border-radius: 10px; background: #3a1518; border: 1px solid #7a2b31; color: #ffd9d6; }
    ul { margin: 0.25rem 0 0; padding-left: 1.2rem; }
    code { font-size: 0.85em; color: #ffb4ac; }
    button { margin-left: auto; background: none; border: 0; color: inherit; font-size: 1.25rem; cursor: pointer; line-height: 1; }
  `;

  override render() {
    if (this.error === undefined) return nothing;
    const error = this.error instanceof ZoetropeError ? this.error : deserializeError(serializeError(this.error));
    return html`<div class="notice" role="alert" part="notice">
      <div>
        <strong>${error.message}</strong> <code>${error.code}</code>
        ${error instanceof ValidationError && error.issues.length > 1
          ? html`<ul>${error.issues.map((i) => html`<li><code>${i.field}</code> ${i.message}</li>`)}</ul>`
          : nothing}
      </div>
      <button aria-label="Dismiss" @click=${() => this.dispatchEvent(new Event('dismiss'))}>×</button>
    </div>`;
  }
}

customElements.define('zt-error-notice', ZtErrorNotice);

declare global {
  interface HTMLElementTagNameMap {
    'zt-error-notice': ZtErrorNotice;
  }
}
