import type { Request } from 'express';
import type { GuardContext } from '../shared/directive.js';
import { bearerTokenOf } from '../shared/jwt.js';
import { authenticate, type Strategy } from '../shared/strategies.js';
import type { HttpContext, RequestLog } from '../shared/server.js';
import type { PoolData } from './db/data.js';
import type { PartnerTokenVerifier, Swimmer } from './verifier.js';

export type { Swimmer };

/** What Swimmer resolves from: a token's swimmer or a visit's record of one. */
export interface SwimmerModel {
  id: string;
  name: string;
}

/** The pool's viewer: a gym member on a partner token, known by the pairwise id the token carries. */
export interface PoolViewer {
  memberId: string;
  /** Partner tokens are issued to gym members; the directive's role check sees a MEMBER. */
  role: 'MEMBER';
  /** A partner token (the API), or the website's session after signing in with the gym. */
  method: 'TOKEN' | 'SESSION';
  scopes: string[];
  swimmer: Swimmer;
}

export interface PoolContext extends GuardContext, HttpContext {
  viewer: PoolViewer | null;
  db: PoolData;
  requestLog: RequestLog;
}

/** The pool's one strategy: a bearer partner token. No cookie, no session, no call to the gym. */
export function partnerTokenStrategy(verifier: PartnerTokenVerifier): Strategy<PoolViewer> {
  return async (req) => {
    const token = bearerTokenOf(req.headers.authorization);
    if (token === null) return null;
    const swimmer = await verifier.verify(token);
    return { memberId: swimmer.id, role: 'MEMBER', method: 'TOKEN', scopes: swimmer.scopes, swimmer };
  };
}

export async function createPoolContext(req: Request, requestLog: RequestLog, deps: { db: PoolData; strategy: Strategy<PoolViewer> }): Promise<PoolContext> {
  const { viewer, failure } = await authenticate(req, [deps.strategy], undefined);
  requestLog.viewer = viewer;
  return { db: deps.db, requestLog, viewer, authFailure: failure };
}
