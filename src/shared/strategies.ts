import type { IncomingHttpHeaders } from 'node:http';
import type { Response } from 'express';
import type { TokenFailureReason } from './errors.js';
import { CredentialRejected } from './errors.js';

/**
 * What a strategy reads credentials from: an HTTP request's headers, or the ones a WebSocket presented when it
 * opened (the bearer token of its `connectionParams`, the cookie of its upgrade request). An HTTP request also has
 * its response, where a strategy may renew a cookie; a socket has none.
 */
export interface Presented {
  readonly headers: IncomingHttpHeaders;
  readonly res?: Response;
}

/**
 * One way of recognising a request. Returns null when the request carries nothing for it ("not mine"), a viewer
 * when the credential is good, or throws {@link CredentialRejected} when the credential is its kind but bad.
 * `D` is what the service lends its strategies (the gym: the request's loaders).
 */
export type Strategy<V, D = unknown> = (req: Presented, deps: D) => Promise<V | null>;

export interface Authentication<V> {
  viewer: V | null;
  failure: { reason: TokenFailureReason } | null;
}

/**
 * Tries the strategies in order; the first that claims the request decides. So with the bearer strategy first,
 * an Authorization header alone decides and the cookie is never consulted; a refused credential does not fall
 * through to the next strategy, it makes the request anonymous. The gym and the pool both authenticate here.
 */
export async function authenticate<V, D>(req: Presented, strategies: readonly Strategy<V, D>[], deps: D): Promise<Authentication<V>> {
  for (const strategy of strategies) {
    try {
      const viewer = await strategy(req, deps);
      if (viewer) return { viewer, failure: null };
    } catch (err) {
      if (err instanceof CredentialRejected) return { viewer: null, failure: { reason: err.reason } };
      throw err;
    }
  }
  return { viewer: null, failure: null };
}
