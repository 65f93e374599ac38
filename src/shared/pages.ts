import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Response } from 'express';

/**
 * The few server-rendered pages Keycard has (the gym's sign-in and consent pages, the pool's website), in one shape:
 * plain HTML with no script at all, under a Content-Security-Policy that allows the page's own style (by nonce), forms
 * to the places a site names, and no framing.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Whether a form's token is the one expected, compared in constant time. */
export function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** How one site's pages look and where their forms may go. */
export interface Site {
  /** The name above every page's heading. */
  brand: string;
  /** Appended to each page's title, if any. */
  titleSuffix?: string;
  style: string;
  /** The CSP's form-action sources, e.g. `'self'` (a redirect after a form is a form action too). */
  formAction: string;
}

/** Sends one page of `site`. */
export function sendPage(res: Response, site: Site, status: number, title: string, body: string): void {
  const nonce = randomBytes(16).toString('base64');
  res.status(status);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader(
    'Content-Security-Policy',
    ["default-src 'none'", `style-src 'nonce-${nonce}'`, `form-action ${site.formAction}`, "frame-ancestors 'none'", "base-uri 'none'"].join('; '),
  );
  // Same-origin requests keep their Origin (no-referrer, the default elsewhere, makes a browser send `Origin: null`
  // with a form), which the forms' origin checks rely on; nothing leaves for other sites.
  res.setHeader('Referrer-Policy', 'same-origin');
  res.send(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${escapeHtml(title)}${site.titleSuffix ?? ''}</title><style nonce="${nonce}">${site.style}</style></head>` +
      `<body><main><p class="brand">${escapeHtml(site.brand)}</p><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`,
  );
}
