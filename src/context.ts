import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { AccessTokens } from './auth/access-tokens.js';
import type { PartnerTokens } from './auth/partner-tokens.js';
import type { RefreshTokens } from './auth/refresh-tokens.js';
import type { SessionControl, Sessions } from './auth/sessions.js';
import type { LoginThrottle } from './auth/throttle.js';
import type { AuthFailure, GymStrategy, Viewer } from './auth/viewer.js';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import { createLoaders, type Loaders } from './db/loaders.js';
import type { Queries } from './db/queries.js';
import type { GuardContext } from './shared/directive.js';
import type { RequestLog } from './shared/server.js';
import { authenticate } from './shared/strategies.js';

/** What lives as long as the server: built once in createApp and shared by every request. */
export interface Services {
  db: Db;
  /** The hot statements, prepared once. */
  queries: Queries;
  config: Config;
  throttle: LoginThrottle;
  /** The access sheet: express-session, its strategy and each request's control. */
  sessions: Sessions;
  accessTokens: AccessTokens;
  refreshTokens: RefreshTokens;
  partnerTokens: PartnerTokens;
  /** In order: the first that claims a request decides (the bearer header, then the session cookie). */
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
  readonly clientAddress: string;
  requestLog: RequestLog;
}

/** Builds the context of one HTTP request: fresh loaders, then the strategies in order decide the viewer. */
export async function createContext(services: Services, req: Request, res: Response, requestLog: RequestLog): Promise<Context> {
  const loaders = createLoaders(services.db, services.queries);
  const { viewer, failure } = await authenticate(req, services.strategies, { loaders });
  requestLog.viewer = viewer;
  return {
    viewer,
    authFailure: failure,
    services,
    loaders,
    session: services.sessions.control(req, res),
    // Computed when asked (a login, a password change): Express derives it from the socket and the proxy rules.
    get clientAddress() {
      return req.ip ?? req.socket.remoteAddress ?? 'unknown';
    },
    requestLog,
  };
}
