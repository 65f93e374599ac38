import type { IncomingHttpHeaders } from 'node:http';
import type { Context as GraphQLWsContext } from 'graphql-ws';
import type { Logger } from 'pino';
import type { GymStrategy, Viewer } from '../auth/viewer.js';
import type { Loaders } from '../db/loaders.js';
import type { Clock } from '../shared/clock.js';
import { isDatabaseUnavailable } from '../shared/errors.js';
import { authenticate, type Presented } from '../shared/strategies.js';
import { closeFor, LiveCloseCode, LiveConnection, type Refusal } from './connection.js';
import type { SocketRegistry } from './registry.js';
import type { SocketExtra as GlueExtra } from './ws.js';

/** What Keycard keeps for one socket besides its `socket` and `request`: its address, and once signed in, its viewer. */
export type SocketExtra = {
  address: string;
  connection?: LiveConnection;
};

/** graphql-ws's state of one of Keycard's sockets. */
export type SocketState = GraphQLWsContext<Record<string, unknown>, GlueExtra<SocketExtra>>;

/** Origins whose pages may use the session cookie on a socket, and whether only HTTPS pages of the gym's host count. */
export interface CookieOrigins {
  trusted: ReadonlySet<string>;
  production: boolean;
}

export interface SocketOpenOptions {
  strategies: readonly GymStrategy[];
  /** Shared by every socket and never caching. */
  loaders: Loaders;
  /** How often a session's activity is recorded (see LiveConnection). */
  touchIntervalMs: number;
  /** The app's clock, on which each socket awaits its credential's end (see LiveConnection). */
  clock: Pick<Clock, 'now' | 'at'>;
  registry: SocketRegistry;
  cookieOrigins: CookieOrigins;
  log: Logger;
}

/**
 * Whether a socket's upgrade request may use the session cookie: it comes from a page of the gym's own (`PUBLIC_URL`'s
 * origin, or the host the browser addressed the socket to) or of one of `CORS_ORIGINS`. A browser always sends
 * `Origin` with a WebSocket, so a request without one is not a browser's page and gets no cookie either. In
 * production a page of the gym's host counts only over HTTPS: a plain-HTTP page there (one injected on the network)
 * is not the gym's.
 */
export function cookieOriginAllowed(origin: string | undefined, host: string | undefined, allowed: CookieOrigins): boolean {
  if (origin === undefined) return false;
  if (allowed.trusted.has(origin)) return true;
  try {
    const url = new URL(origin);
    return host !== undefined && url.host === host && (url.protocol === 'https:' || (!allowed.production && url.protocol === 'http:'));
  } catch {
    return false;
  }
}

/**
 * graphql-ws's `onConnect`: finds the socket's viewer with the same ordered strategies as an HTTP request, and keeps
 * a LiveConnection for it within the member's limit. False (the socket closed with the reason) when it may not go on.
 */
export async function openConnection(state: SocketState, options: SocketOpenOptions): Promise<boolean> {
  const { socket } = state.extra;
  if (socket.readyState !== socket.OPEN) return false;
  let found;
  try {
    found = await authenticateSocket(state, options);
  } catch (err) {
    options.log.error({ err }, 'could not authenticate a socket');
    socket.close(LiveCloseCode.InternalError, 'internal error');
    return false;
  }
  if (typeof found === 'string') {
    socket.close(...closeFor(found));
    return false;
  }
  // The client went away while it was being checked: nothing to keep for it.
  if (socket.readyState !== socket.OPEN) return false;
  if (!options.registry.hasRoomFor(found.viewer.memberId)) {
    socket.close(LiveCloseCode.PolicyViolation, 'too many connections for this member');
    return false;
  }
  const connection = new LiveConnection({
    presented: found.presented,
    viewer: found.viewer,
    strategies: options.strategies,
    loaders: options.loaders,
    touchIntervalMs: options.touchIntervalMs,
    clock: options.clock,
    close: (code, reason) => socket.close(code, reason),
    log: options.log,
  });
  options.registry.add(connection);
  state.extra.connection = connection;
  options.log.info({ event: 'socket_open', auth: found.viewer.method, memberId: found.viewer.memberId }, 'socket');
  return true;
}

/**
 * Who opened the socket, or why not: `connectionParams.authorization` as the Authorization header (it alone decides
 * when given), or the upgrade request's cookie when its Origin may use it.
 */
async function authenticateSocket(state: SocketState, options: SocketOpenOptions): Promise<{ presented: Presented; viewer: Viewer } | Refusal> {
  const { request } = state.extra;
  const authorization = state.connectionParams?.authorization;
  const headers: IncomingHttpHeaders = {};
  if (authorization !== undefined) {
    if (typeof authorization !== 'string') return 'forbidden';
    headers.authorization = authorization;
  } else if (request.headers.cookie !== undefined && cookieOriginAllowed(request.headers.origin, request.headers.host, options.cookieOrigins)) {
    headers.cookie = request.headers.cookie;
  }
  if (headers.authorization === undefined && headers.cookie === undefined) return 'forbidden';
  const presented: Presented = { headers };
  let result;
  try {
    // Opening a socket is not activity by itself: only a live subscription is (see LiveConnection).
    result = await authenticate(presented, options.strategies, { loaders: options.loaders, recordActivity: false });
  } catch (err) {
    if (isDatabaseUnavailable(err)) return 'unavailable';
    throw err;
  }
  if (result.viewer) return { presented, viewer: result.viewer };
  if (result.failure) return result.failure.reason === 'token_expired' ? 'token_expired' : 'forbidden';
  return headers.cookie !== undefined ? 'session_ended' : 'forbidden';
}
