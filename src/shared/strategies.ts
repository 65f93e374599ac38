import type { Request } from 'express';
import type { TokenFailureReason } from '../errors.js';
import { CredentialRejected } from '../errors.js';

/**
 * One way of recognising a request. Returns null when the request carries nothing for it ("not mine"), a viewer
 * when the credential is good, or throws {@link CredentialRejected} when the credential is its kind but bad.
 * `D` is what the service lends its strategies (the gym: the request's loaders).
 */
export type Strategy<V, D = unknown> = (req: Request, deps: D) => Promise<V | null>;

export interface Authentication<V> {
  viewer: V | null;
  failure: { reason: TokenFailureReason } | null;
}

/**
 * Tries the strategies in order; the first that claims the request decides. So with the bearer strategy first,
 * an Authorization header alone decides and the cookie is never consulted; a refused credential does not fall
 * through to the next strategy, it makes the request anonymous. The gym and the pool both authenticate here.
 */
export async function authenticate<V, D>(req: Request, strategies: readonly Strategy<V, D>[], deps: D): Promise<Authentication<V>> {
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
