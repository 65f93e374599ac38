import type { IncomingMessage, Server } from 'node:http';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Services } from '../context.js';
import { createLoaders } from '../db/loaders.js';
import type { Clock } from '../shared/clock.js';
import type { GraphQLPipeline } from '../shared/graphql-pipeline.js';
import { LiveCloseCode } from './connection.js';
import { SOCKET_LIMITS, type LiveLimits } from './limits.js';
import { openConnection, type SocketExtra } from './open.js';
import { SocketRegistry } from './registry.js';
import { createSubscriptions } from './subscribe.js';
import { serveGraphQLWs } from './ws.js';

export { cookieOriginAllowed } from './open.js';

export interface LiveServerOptions {
  httpServer: Server;
  /** The GraphQL pipeline `/graphql` runs over HTTP: the same rules, limits and error formatting. */
  pipeline: GraphQLPipeline;
  services: Services;
  limits: LiveLimits;
  /** The client's address as the per-address limits count it (Express's proxy rules, applied to the upgrade request). */
  clientAddress(request: IncomingMessage): string;
  /** Origins whose pages may use the session cookie on a socket, besides the gym's own: CORS_ORIGINS. */
  corsOrigins: readonly string[];
  /** The gym's own origin as configured (PUBLIC_URL's). */
  publicOrigin: string;
  production: boolean;
  /** The app's clock: each socket closes when its credential's deadline comes on it. */
  clock: Clock;
  log: Logger;
}

export interface LiveServer {
  /** Closes every socket (1001, Going away: clients reconnect elsewhere) and stops taking new ones. */
  drain(): Promise<void>;
}

/**
 * Subscriptions over graphql-ws on the gym's own HTTP server, path `/graphql`.
 *
 * - **When the socket opens**, the viewer is found by the same ordered strategies as an HTTP request, on what the
 *   socket presented: `connectionParams.authorization` as the Authorization header (it alone decides when given), or
 *   the cookie of the upgrade request, honoured only when the request's `Origin` is the gym's own or one of
 *   `CORS_ORIGINS` (a page on another site could otherwise open a socket on the member's cookie: cross-site WebSocket
 *   hijacking). No credential, or a refused one, closes the socket with 4403 and the reason (see openConnection).
 * - **When a subscription starts**, the document goes through the GraphQL pipeline HTTP runs (tokens, depth, aliases,
 *   directives, cost) and the field's `@auth` guard: a refusal is a graphql-ws `error` message for that operation
 *   alone, formatted as over HTTP (see createSubscriptions).
 * - **Every event** is sent only after the viewer is checked anew (see LiveConnection and LiveStream).
 * - **Limits** (see SOCKET_LIMITS and LiveLimits): sockets per member and per address, subscriptions per socket,
 *   events waiting per subscription; over one, the socket closes with 1008.
 */
export function createLiveServer(options: LiveServerOptions): LiveServer {
  const { pipeline, services, limits, log } = options;
  // One set of loaders for every socket: never caching, batching the checks of one event's sockets into one query.
  const loaders = createLoaders(services.data, { shared: true });
  const registry = new SocketRegistry(limits);
  const stopCredentials = services.live.onCredentialsChanged((memberId) => registry.recheck(memberId));
  const stopGap = services.live.onGap(() => registry.recheck());
  const opening = {
    strategies: services.strategies,
    loaders,
    touchIntervalMs: services.sessions.touchIntervalMs,
    clock: options.clock,
    registry,
    cookieOrigins: { trusted: new Set([options.publicOrigin, ...options.corsOrigins]), production: options.production },
    log,
  };
  const subscriptions = createSubscriptions({ pipeline, services, loaders, maxSubscriptionsPerConnection: limits.maxSubscriptionsPerConnection, maxQueuedEvents: limits.maxQueuedEvents, log });

  const wss = new WebSocketServer({ server: options.httpServer, path: '/graphql', maxPayload: SOCKET_LIMITS.maxMessageBytes });
  const glue = serveGraphQLWs<SocketExtra>(
    wss,
    {
      schema: pipeline.schema,
      connectionInitWaitTimeout: SOCKET_LIMITS.connectionInitWaitMs,
      onConnect: (state) => openConnection(state, opening),
      onSubscribe: (state, id, payload) => subscriptions.onSubscribe(state.extra, id, payload),
      subscribe: (args) => subscriptions.subscribe(args),
      onNext: (_state, _id, _payload, _args, result) => (result.errors?.length ? { ...result, errors: pipeline.formatErrors(result.errors) } : undefined),
      onError: (_state, _id, _payload, errors) => pipeline.formatErrors(errors),
      onComplete: (state, id) => state.extra.connection?.end(id),
      onClose(state, code, reason) {
        const { connection } = state.extra;
        if (!connection) return;
        connection.dispose();
        registry.forget(connection);
        log.info({ event: 'socket_close', memberId: connection.memberId, code, reason: reason?.slice(0, 100) }, 'socket');
      },
    },
    {
      log,
      keepAliveMs: SOCKET_LIMITS.keepAliveMs,
      maxBufferedBytes: SOCKET_LIMITS.maxBufferedBytes,
      internalErrorCode: LiveCloseCode.InternalError,
      accept: (socket, request) => registry.accept(socket, options.clientAddress(request)),
    },
  );

  return {
    async drain() {
      stopCredentials();
      stopGap();
      await glue.drain(SOCKET_LIMITS.drainGraceMs);
    },
  };
}
