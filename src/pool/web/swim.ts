import type { RequestHandler } from 'express';
import { execute, parse, type GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { PoolContext, PoolViewer } from '../context.js';
import type { PoolData } from '../db/data.js';
import { sessionOf, swimmerOf } from './sessions.js';

const SWIM = parse('mutation { swim { admittedAt } }');

/**
 * `POST /swim` (behind the session's form check): the same guarded operation the API runs, for the swimmer the session
 * holds, then back to the front page with what came of it.
 */
export function swim(db: PoolData, schema: GraphQLSchema, log: Logger): RequestHandler {
  return async (req, res) => {
    const swimmer = swimmerOf(req)!;
    const viewer: PoolViewer = {
      memberId: swimmer.sub,
      role: 'MEMBER',
      method: 'SESSION',
      scopes: ['pool:swim'],
      swimmer: { id: swimmer.sub, name: swimmer.name, scopes: ['pool:swim'], expiresAt: new Date(sessionOf(req).until!), tokenId: swimmer.tokenId },
    };
    // The same guarded operation the API runs: the website is one more caller of it, not a second implementation.
    const context: PoolContext = { db, viewer, authFailure: null, requestLog: {} };
    const result = await execute({ schema, document: SWIM, contextValue: context });
    if (result.errors?.length) log.warn({ errors: result.errors.map((e) => e.message) }, 'a swim from the website failed');
    res.redirect(303, result.errors?.length ? '/?notice=swim-failed' : '/?notice=swum');
  };
}
