import type { Request, Response } from 'express';
import type { SessionControl } from './auth/sessions.js';
import type { AuthFailure, Viewer } from './auth/viewer.js';
import { createLoaders, type Loaders } from './db/loaders.js';
import type { GuardContext } from './shared/directive.js';
import type { RequestLog } from './shared/server.js';
import { clientAddressOf } from './shared/addresses.js';
import { authenticate, type Authentication } from './shared/strategies.js';
import { DatabaseUnavailableError, isDatabaseUnavailable } from './shared/errors.js';
import type { Actor } from './services/actor.js';
import type { Services } from './services/services.js';

// Where the app and the transports have always taken it from.
export type { Services } from './services/services.js';

/** What a subscription's resolver asks of the socket operation it runs for. */
export interface LiveFeed {
  /** The socket's viewer, as of its last check. */
  readonly viewer: Viewer;
  /**
   * The events `listen` hands over (it returns what stops it), as the async iterator graphql-js executes: each is sent
   * only once the socket's viewer has been checked anew and `allows` (the field's guard, asked again) still holds.
   */
  stream<T>(listen: (push: (event: T) => void) => () => void, allows: (viewer: Viewer) => boolean): AsyncIterableIterator<T>;
}

/**
 * What every resolver receives: the actor every service is called for (who, from where, their session), and what
 * GraphQL alone needs besides (the request's loaders, why a credential was refused, its log line, its socket).
 */
export interface Context extends GuardContext, Actor {
  /**
   * Who this request acts for. Set by the resolvers of the mutations that sign in or out (signUp, login, refresh,
   * logout, changePassword) to whom their service says, so the rest of the operation, their payload first, sees it.
   */
  viewer: Viewer | null;
  /** Why a presented credential was refused, if one was. */
  authFailure: AuthFailure | null;
  services: Services;
  loaders: Loaders;
  readonly session: SessionControl;
  /**
   * The client's address as the per-address limits count it: Express's (the socket, or X-Forwarded-For only from
   * trusted proxies), an IPv6 address grouped by its /64.
   */
  readonly clientAddress: string;
  requestLog: RequestLog;
  /** The subscription operation this runs for, on its WebSocket (its viewer checked anew before every event); absent over HTTP. */
  readonly live?: LiveFeed;
}

/**
 * One request's context. A class, so that what only some operations need (the session control, the client's
 * address) is computed on first use by getters on the prototype: Apollo shallow-copies the context of every operation,
 * which would otherwise run them all on every request.
 */
class RequestContext implements Context {
  private sessionControl: SessionControl | undefined;

  constructor(
    public viewer: Viewer | null,
    public authFailure: AuthFailure | null,
    readonly services: Services,
    readonly loaders: Loaders,
    readonly requestLog: RequestLog,
    private readonly req: Request,
    private readonly res: Response,
  ) {}

  get session(): SessionControl {
    return (this.sessionControl ??= this.services.sessions.control(this.req, this.res));
  }

  // Express derives it from the socket and the proxy rules: only a sign-up or a login asks.
  get clientAddress(): string {
    return clientAddressOf(this.req);
  }
}

/** Builds the context of one HTTP request: fresh loaders, then the strategies in order decide the viewer. */
export async function createContext(services: Services, req: Request, res: Response, requestLog: RequestLog): Promise<Context> {
  const loaders = createLoaders(services.data);
  let authenticated: Authentication<Viewer>;
  try {
    authenticated = await authenticate(req, services.strategies, { loaders });
  } catch (err) {
    // A session or strict token is read from the database: during an outage the request ends with 503 and
    // Retry-After, not as a server fault.
    if (isDatabaseUnavailable(err)) throw new DatabaseUnavailableError();
    throw err;
  }
  const { viewer, failure } = authenticated;
  requestLog.viewer = viewer;
  return new RequestContext(viewer, failure, services, loaders, requestLog, req, res);
}

/**
 * The context of one operation on a WebSocket: the viewer is the socket's, as of its last check (so each event of a
 * subscription is resolved, and guarded, for the viewer as it was checked before that event). Only subscriptions run
 * on a socket, so there is no session to start or end here.
 */
class SocketContext implements Context {
  readonly authFailure = null;
  readonly requestLog: RequestLog = {};

  constructor(
    readonly live: LiveFeed,
    readonly services: Services,
    readonly loaders: Loaders,
    readonly clientAddress: string,
  ) {}

  get viewer(): Viewer {
    return this.live.viewer;
  }

  set viewer(_viewer: Viewer | null) {
    throw new Error("a socket's viewer changes only when it is checked anew");
  }

  get session(): SessionControl {
    throw new Error('a socket has no session to start or end: sign in and out over HTTP');
  }
}

/** The context of one subscription operation on a socket. `loaders` are shared by sockets and never cache (see createLiveServer). */
export function createSocketContext(services: Services, live: LiveFeed, loaders: Loaders, clientAddress: string): Context {
  return new SocketContext(live, services, loaders, clientAddress);
}

/** The socket operation a subscription runs for: subscriptions are served on sockets alone. */
export function liveFeedOf(ctx: Context): LiveFeed {
  if (!ctx.live) throw new Error('subscriptions run on a socket');
  return ctx.live;
}
