import type { Request } from 'express';
import type { Loaders } from '../db/loaders.js';
import { CredentialRejected } from './jwt.js';
import type { AuthFailure, Viewer } from './viewer.js';

export { CredentialRejected };

/**
 * One way of recognising a request. Returns null when the request carries nothing for it ("not mine"), a viewer
 * when the credential is good, or throws {@link CredentialRejected} when the credential is its kind but bad.
 */
export type Strategy = (req: Request, deps: { loaders: Loaders }) => Promise<Viewer | null>;

export interface Authentication {
  viewer: Viewer | null;
  failure: AuthFailure | null;
}

/**
 * Tries the strategies in order; the first that claims the request decides. So with the bearer strategy first,
 * an Authorization header alone decides and the cookie is never consulted; a refused credential does not fall
 * through to the next strategy, it makes the request anonymous.
 */
export async function authenticate(req: Request, strategies: readonly Strategy[], deps: { loaders: Loaders }): Promise<Authentication> {
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
