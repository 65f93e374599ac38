import type { RequestHandler } from 'express';

/** The names a person may type for their own machine. */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Sends a page asked for on another loopback name (127.0.0.1 where the pool's public URL says localhost) to the same
 * path and query on the public URL: the gym registers one host for the pool's callback, and the sign-in's cookie
 * lives on one host, so the whole flow must run there. Only when the public URL is itself a loopback name (a person
 * on their laptop): behind a real domain a proxy may rewrite Host, and a redirect would loop.
 */
export function toPublicLoopbackHost(publicUrl: string): RequestHandler {
  const publicHost = new URL(publicUrl).hostname;
  if (!LOOPBACK.has(publicHost)) return (_req, _res, next) => next();
  return (req, res, next) => {
    const host = URL.canParse(`http://${req.headers.host ?? ''}`) ? new URL(`http://${req.headers.host}`).hostname : '';
    if (!LOOPBACK.has(host) || host === publicHost) {
      next();
      return;
    }
    res.redirect(303, `${publicUrl}${req.originalUrl}`);
  };
}
