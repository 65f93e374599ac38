import type Provider from 'oidc-provider';
import type { Configuration } from 'oidc-provider';
import { escapeHtml } from '../shared/pages.js';
import { RESPONSE_MODES } from './clients.js';

/**
 * What the provider sends of its own (its error page, a form_post, its discovery document), held to the gym's rules:
 * the gym's pages' security policy, OAuth's words only on an error, and a discovery document that says only what is true.
 */

/** The policy of whatever the provider renders itself: nothing loads, no framing, forms only to the clients. */
export function providerCsp(clientOrigins: string[]): string {
  return [
    "default-src 'none'",
    "script-src 'none'",
    `form-action ${clientOrigins.length ? clientOrigins.join(' ') : "'none'"}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** The provider's own middleware: the policy on every answer, and the discovery document made honest. */
export function ownAnswers(clientOrigins: string[]): Parameters<Provider['use']>[0] {
  const csp = providerCsp(clientOrigins);
  return async (ctx, next) => {
    // The gym's pages' policy for whatever the provider renders itself (its error page, a form_post): no style, no
    // framing, forms only to the clients. oidc-provider adds the hash of its form_post script to script-src, so that
    // one script, and no other, runs.
    ctx.set('Content-Security-Policy', csp);
    await next();
    if (ctx.oidc?.route === 'discovery' && ctx.body && typeof ctx.body === 'object') honestDiscovery(ctx.body as Record<string, unknown>);
  };
}

/**
 * The discovery document says only what is true: the response modes the clients are registered for (oidc-provider
 * lists every mode it knows), and the claims an ID token or userinfo carries (no `sid`: nothing is issued with one).
 */
export function honestDiscovery(body: Record<string, unknown>): void {
  body.response_modes_supported = RESPONSE_MODES;
  if (Array.isArray(body.claims_supported)) body.claims_supported = body.claims_supported.filter((claim) => claim !== 'sid');
}

/** The provider's error page says what went wrong in OAuth's words, never more (no stack, no internals). */
export const renderError: NonNullable<Configuration['renderError']> = async (ctx, out) => {
  ctx.type = 'html';
  ctx.body = errorPage(String(out.error ?? 'error'), String(out.error_description ?? ''));
};

function errorPage(error: string, description: string): string {
  const title = 'Signing in did not work';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · Keycard gym</title></head><body><main><h1>${title}</h1><p>${escapeHtml(error)}</p><p>${escapeHtml(description)}</p></main></body></html>`;
}
