import type { Request, Response } from 'express';
import type { GuardContext } from '../auth/directive.js';
import { bearerTokenOf, CredentialRejected } from '../auth/jwt.js';
import type { HttpContext, RequestLog } from '../http.js';
import type { PoolDb } from './db/client.js';
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
  method: 'TOKEN';
  scopes: string[];
  swimmer: Swimmer;
}

export interface PoolContext extends GuardContext, HttpContext {
  viewer: PoolViewer | null;
  db: PoolDb;
  requestLog: RequestLog;
}

/** The pool takes a bearer partner token and nothing else: no cookie, no session, no call to the gym. */
export async function createPoolContext(req: Request, res: Response, deps: { db: PoolDb; verifier: PartnerTokenVerifier }): Promise<PoolContext> {
  const requestLog = (res.locals.requestLog as RequestLog | undefined) ?? {};
  const base = { db: deps.db, requestLog };
  try {
    const token = bearerTokenOf(req.headers.authorization);
    if (token === null) return { ...base, viewer: null, authFailure: null };
    const swimmer = await deps.verifier.verify(token);
    return { ...base, viewer: { memberId: swimmer.id, role: 'MEMBER', method: 'TOKEN', scopes: swimmer.scopes, swimmer }, authFailure: null };
  } catch (err) {
    if (err instanceof CredentialRejected) return { ...base, viewer: null, authFailure: { reason: err.reason } };
    throw err;
  }
}
