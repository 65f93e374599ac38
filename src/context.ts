import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { AccessTokens } from './auth/access-tokens.js';
import type { GuardContext } from './shared/directive.js';
import type { PartnerTokens } from './auth/partner-tokens.js';
import type { RefreshTokens } from './auth/refresh-tokens.js';
import { createSessionControl, type SessionControl } from './auth/session.js';
import type { SqliteSessionStore } from './auth/session-store.js';
import { authenticate } from './shared/strategies.js';
import type { LoginThrottle } from './auth/throttle.js';
import type { AuthFailure, GymStrategy, Viewer } from './auth/viewer.js';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import { createLoaders, type Loaders } from './db/loaders.js';
import type { RequestLog } from './shared/server.js';

/** What lives as long as the server: built once in createApp and shared by every request. */
export interface Services {
  db: Db;
  /** express-session, for a request that skipped it (it sent a bearer token) and signs in with a session. */
  sessions: RequestHandler;
  config: Config;
  throttle: LoginThrottle;
  sessionStore: SqliteSessionStore;
  accessTokens: AccessTokens;
  refreshTokens: RefreshTokens;
  partnerTokens: PartnerTokens;
  strategies: readonly GymStrategy[];
  log: Logger;
}

/** What every resolver receives. */
export interface Context extends GuardContext {
  /** Who this request acts for. Mutable only by signUp and login, so their own payload can be read at once. */
  viewer: Viewer | null;
  /** Why a presented credential was refused, if one was. */
  authFailure: AuthFailure | null;
  services: Services;
  loaders: Loaders;
  session: SessionControl;
  /** The client's address as Express computes it: the socket, or X-Forwarded-For only from trusted proxies. */
  clientAddress: string;
  requestLog: RequestLog;
}

/** Builds the context of one HTTP request: fresh loaders, then the strategies in order decide the viewer. */
export async function createContext(services: Services, req: Request, res: Response): Promise<Context> {
  const loaders = createLoaders(services.db);
  const { viewer, failure } = await authenticate(req, services.strategies, { loaders });
  // Shared with the request logger through res.locals, which writes the line once the response is sent.
  const requestLog: RequestLog = (res.locals.requestLog as RequestLog | undefined) ?? {};
  requestLog.viewer = viewer;
  return {
    viewer,
    authFailure: failure,
    services,
    loaders,
    session: createSessionControl(req, res, {
      production: services.config.production,
      idleTimeoutMs: services.config.sessionIdleTimeoutMs,
      sessions: services.sessions,
    }),
    clientAddress: req.ip ?? req.socket.remoteAddress ?? 'unknown',
    requestLog,
  };
}
