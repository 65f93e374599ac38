import { randomBytes } from 'node:crypto';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;background:#e8f4fa;color:#10222b;margin:0}main{max-width:30rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0001}.brand{font-weight:700;color:#0a6c93;margin:0}h1{font-size:1.5rem}h2{font-size:1.1rem}a.button,button{display:inline-block;margin-top:.5rem;padding:.6rem 1.2rem;font:inherit;background:#0a6c93;color:#fff;border:0;border-radius:6px;text-decoration:none;cursor:pointer}button.secondary{background:#dde7ec;color:#10222b}.notice{background:#fff6d6;padding:.6rem .8rem;border-radius:6px}`;

/**
 * One of the pool's pages: plain HTML and no script at all, under a Content-Security-Policy that allows its own style
 * (by nonce), forms to the pool only, and no framing.
 */
export function page(title: string, body: string): { html: string; csp: string } {
  const nonce = randomBytes(16).toString('base64');
  return {
    csp: ["default-src 'none'", `style-src 'nonce-${nonce}'`, "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"].join('; '),
    html:
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${escapeHtml(title)}</title><style nonce="${nonce}">${STYLE}</style></head>` +
      `<body><main><p class="brand">The pool next door</p><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`,
  };
}
