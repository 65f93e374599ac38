import type { IncomingMessage, IncomingHttpHeaders, Server } from 'node:http';
import {
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  subscribe,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, type Context as GraphQLWsContext, type SubscribePayload } from 'graphql-ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Viewer } from '../auth/viewer.js';
import type { LiveLimits } from '../config/options.js';
import { createSocketContext, type Services } from '../context.js';
import { createLoaders } from '../db/loaders.js';
import { createFormatError, isDatabaseUnavailable } from '../shared/errors.js';
import { createCostLimit } from '../shared/cost-limit.js';
import { OPERATION_LIMITS, operationLimitRules } from '../shared/limits.js';
import { authenticate, type Presented } from '../shared/strategies.js';
import { SUBSCRIBER_EXISTS } from './close-reason.js';
import { closeFor, LiveCloseCode, LiveConnection, type LiveOperation, type Refusal } from './connection.js';
import { liveFeed } from './stream.js';
import { serveGraphQLWs, type SocketExtra as GlueExtra } from './ws.js';

export interface LiveServerOptions {
  httpServer: Server;
  schema: GraphQLSchema;
  services: Services;
  limits: LiveLimits;
  /** The client's address as the per-address limits count it (Express's proxy rules, applied to the upgrade request). */
  clientAddress(request: IncomingMessage): string;
  /** Origins whose pages may use the session cookie on a socket, besides the gym's own: CORS_ORIGINS. */
  corsOrigins: readonly string[];
  /** The gym's own origin as configured (PUBLIC_URL's). */
  publicOrigin: string;
  production: boolean;
  log: Logger;
}

export interface LiveServer {
  /** Closes every socket (1001, Going away: clients reconnect elsewhere) and stops taking new ones. */
  drain(): Promise<void>;
}

/** What Keycard keeps for one socket besides its `socket` and `request`: its address, and once signed in, its viewer. */
type SocketExtra = {
  address: string;
  connection?: LiveConnection;
};

type SocketState = GraphQLWsContext<Record<string, unknown>, GlueExtra<SocketExtra>>;

/** A message's largest size: the HTTP body limit, since a subscription document is no bigger than a query. */
const MAX_MESSAGE_BYTES = 100 * 1024;
/** What may wait unsent on one socket before it is cut off (see serveGraphQLWs). */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** graphql-ws's own keep-alive: a ping every 12 s, and a socket that has not answered by the next one is dropped. */
const KEEP_ALIVE_MS = 12_000;
/** How long a stop waits for clients to answer the close before cutting them off (the HTTP drain waits longer). */
const DRAIN_GRACE_MS = 2_000;

/**
 * Whether a socket's upgrade request may use the session cookie: it comes from a page of the gym's own (`PUBLIC_URL`'s
 * origin, or the host the browser addressed the socket to) or of one of `CORS_ORIGINS`. A browser always sends
 * `Origin` with a WebSocket, so a request without one is not a browser's page and gets no cookie either. In
 * production a page of the gym's host counts only over HTTPS: a plain-HTTP page there (one injected on the network)
 * is not the gym's.
 */
export function cookieOriginAllowed(origin: string | undefined, host: string | undefined, allowed: { trusted: ReadonlySet<string>; production: boolean }): boolean {
  if (origin === undefined) return false;
  if (allowed.trusted.has(origin)) return true;
  try {
    const url = new URL(origin);
    return host !== undefined && url.host === host && (url.protocol === 'https:' || (!allowed.production && url.protocol === 'http:'));
  } catch {
    return false;
  }
}

/** An error of the socket protocol's own making, with a code a client can switch on. */
function refusal(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** graphql-js's own errors carry no code; Apollo gives them one over HTTP, and a socket gives them the same. */
function withCode(errors: readonly GraphQLError[], code: string): GraphQLError[] {
  return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, extensions: { code, ...e.extensions } }));
}

/**
 * Subscriptions over graphql-ws on the gym's own HTTP server, path `/graphql` (CONTRACT section 11).
 *
 * - **When the socket opens**, the viewer is found by the same ordered strategies as an HTTP request, on what the
 *   socket presented: `connectionParams.authorization` as the Authorization header (it alone decides when given), or
 *   the cookie of the upgrade request, honoured only when the request's `Origin` is the gym's own or one of
 *   `CORS_ORIGINS` (a page on another site could otherwise open a socket on the member's cookie: cross-site WebSocket
 *   hijacking). No credential, or a refused one, closes the socket with 4403 and the reason.
 * - **When a subscription starts**, the document is held to the HTTP limits (tokens, depth, aliases, directives,
 *   cost) and the field's `@auth` guard: a refusal is a graphql-ws `error` message for that operation alone. Only
 *   subscriptions run here: queries and mutations go over HTTP, where their cookies, CSRF prevention and logs are.
 * - **Every event** is sent only after the viewer is checked anew (see LiveConnection and LiveStream).
 * - **Limits**: sockets per member and per address, subscriptions per socket, events waiting per subscription; over
 *   one, the socket closes with 1008.
 */
export function createLiveServer(options: LiveServerOptions): LiveServer {
  const { schema, services, limits, log } = options;
  const { sessions, strategies } = services;
  const exposeLimits = !options.production;
  const formatError = createFormatError((error) => log.error({ err: error }, 'unexpected error in a subscription'), { exposeLimits });
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] => errors.map((e) => formatError(e.toJSON(), e));
  const rules = [...specifiedRules, ...operationLimitRules({ exposeLimits, exemptIntrospection: false })];
  const costLimit = createCostLimit({ schema, exposeLimits, exemptIntrospection: false });
  // One set of loaders for every socket: never caching, batching the checks of one event's sockets into one query.
  const loaders = createLoaders(services.data, { shared: true });
  const cookieOrigins = { trusted: new Set([options.publicOrigin, ...options.corsOrigins]), production: options.production };

  const perAddress = new Map<string, number>();
  const perMember = new Map<number, Set<LiveConnection>>();
  /** Subscriptions started and checked in onSubscribe, handed to graphql-ws by its `subscribe`. */
  const streams = new WeakMap<ExecutionArgs, AsyncIterable<ExecutionResult>>();

  const recheck = (connections: Iterable<LiveConnection>) => {
    for (const connection of [...connections]) void connection.reauthorise();
  };
  const stopCredentials = services.live.onCredentialsChanged((memberId) => recheck(perMember.get(memberId) ?? []));
  const stopGap = services.live.onGap(() => recheck([...perMember.values()].flatMap((set) => [...set])));

  /** Who opened the socket, or why not. */
  async function authenticateSocket(state: SocketState): Promise<{ presented: Presented; viewer: Viewer } | Refusal> {
    const { request } = state.extra;
    const authorization = state.connectionParams?.authorization;
    const headers: IncomingHttpHeaders = {};
    if (authorization !== undefined) {
      if (typeof authorization !== 'string') return 'forbidden';
      headers.authorization = authorization;
    } else if (request.headers.cookie !== undefined && cookieOriginAllowed(request.headers.origin, request.headers.host, cookieOrigins)) {
      headers.cookie = request.headers.cookie;
    }
    if (headers.authorization === undefined && headers.cookie === undefined) return 'forbidden';
    const presented: Presented = { headers };
    let result;
    try {
      // Opening a socket is not activity by itself: only a live subscription is (see LiveConnection).
      result = await authenticate(presented, strategies, { loaders, recordActivity: false });
    } catch (err) {
      if (isDatabaseUnavailable(err)) return 'unavailable';
      throw err;
    }
    if (result.viewer) return { presented, viewer: result.viewer };
    if (result.failure) return result.failure.reason === 'token_expired' ? 'token_expired' : 'forbidden';
    return headers.cookie !== undefined ? 'session_ended' : 'forbidden';
  }

  function forget(connection: LiveConnection): void {
    const set = perMember.get(connection.memberId);
    if (set?.delete(connection) && set.size === 0) perMember.delete(connection.memberId);
  }

  const wss = new WebSocketServer({ server: options.httpServer, path: '/graphql', maxPayload: MAX_MESSAGE_BYTES });
  const glue = serveGraphQLWs<SocketExtra>(
    wss,
    {
      schema,
      async onConnect(state) {
        const { socket } = state.extra;
        if (socket.readyState !== socket.OPEN) return false;
        let found;
        try {
          found = await authenticateSocket(state);
        } catch (err) {
          log.error({ err }, 'could not authenticate a socket');
          socket.close(LiveCloseCode.InternalError, 'internal error');
          return false;
        }
        if (typeof found === 'string') {
          socket.close(...closeFor(found));
          return false;
        }
        // The client went away while it was being checked: nothing to keep for it.
        if (socket.readyState !== socket.OPEN) return false;
        const mine = perMember.get(found.viewer.memberId) ?? new Set<LiveConnection>();
        if (mine.size >= limits.maxConnectionsPerMember) {
          socket.close(LiveCloseCode.PolicyViolation, 'too many connections for this member');
          return false;
        }
        const connection = new LiveConnection({
          presented: found.presented,
          viewer: found.viewer,
          strategies,
          loaders,
          touchIntervalMs: sessions.touchIntervalMs,
          close: (code, reason) => socket.close(code, reason),
          log,
        });
        mine.add(connection);
        perMember.set(found.viewer.memberId, mine);
        state.extra.connection = connection;
        log.info({ event: 'socket_open', auth: found.viewer.method, memberId: found.viewer.memberId }, 'socket');
        return true;
      },

      async onSubscribe(state, id, payload) {
        const { connection, socket, address } = state.extra;
        if (!connection) return [refusal('Not signed in', 'UNAUTHENTICATED')];
        const operation = connection.begin(id, limits.maxSubscriptionsPerConnection);
        if (operation === 'too many') {
          socket.close(LiveCloseCode.PolicyViolation, 'too many subscriptions on this connection');
          return [refusal('Too many subscriptions on this connection', 'BAD_REQUEST')];
        }
        if (operation === 'duplicate') {
          // graphql-ws's own code for an id that is still live: a client never reuses one before it ended.
          socket.close(CloseCode.SubscriberAlreadyExists, SUBSCRIBER_EXISTS);
          return [refusal('This id is already live', 'BAD_REQUEST')];
        }
        if (operation === 'closed') return [refusal('The socket is closing', 'BAD_REQUEST')];
        let started: ExecutionArgs | readonly GraphQLError[];
        try {
          started = await startSubscription(operation, payload, address);
        } catch (err) {
          log.error({ err }, 'could not start a subscription');
          started = [refusal('Internal server error', 'INTERNAL_SERVER_ERROR')];
        }
        if (!('schema' in started)) {
          connection.end(id);
          return [...started];
        }
        log.info({ event: 'subscription_start', id: id.slice(0, 64), operation: started.operationName?.slice(0, 200), memberId: connection.memberId }, 'socket');
        return started;
      },

      subscribe(args) {
        const result = streams.get(args);
        streams.delete(args);
        return result ?? subscribe(args);
      },

      onNext(_state, _id, _payload, _args, result) {
        if (!result.errors?.length) return undefined;
        return { ...result, errors: format(result.errors) };
      },

      onError(_state, _id, _payload, errors) {
        return format(errors);
      },

      onComplete(state, id) {
        state.extra.connection?.end(id);
      },

      onClose(state, code, reason) {
        const { connection } = state.extra;
        if (!connection) return;
        connection.dispose();
        forget(connection);
        log.info({ event: 'socket_close', memberId: connection.memberId, code, reason: reason?.slice(0, 100) }, 'socket');
      },
    },
    {
      log,
      keepAliveMs: KEEP_ALIVE_MS,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      internalErrorCode: LiveCloseCode.InternalError,
      // Counted when the socket opens, before anything else runs for it.
      accept(socket, request) {
        const address = options.clientAddress(request);
        const open = (perAddress.get(address) ?? 0) + 1;
        perAddress.set(address, open);
        socket.once('close', () => {
          const left = (perAddress.get(address) ?? 1) - 1;
          if (left > 0) perAddress.set(address, left);
          else perAddress.delete(address);
        });
        if (open <= limits.maxConnectionsPerAddress) return { address };
        socket.close(LiveCloseCode.PolicyViolation, 'too many connections from this address');
        return null;
      },
    },
  );

  /**
   * Parses, validates and costs a subscription document as HTTP does its operations, then starts it: a refusal (a
   * limit, the field's guard, variables that do not coerce) is a list of errors for this operation alone.
   */
  async function startSubscription(operation: LiveOperation, payload: SubscribePayload, address: string): Promise<ExecutionArgs | readonly GraphQLError[]> {
    if (typeof payload.query !== 'string') return [refusal('A subscription needs a query', 'BAD_REQUEST')];
    let document: DocumentNode;
    try {
      // The token limit is enforced while parsing, as over HTTP: a huge document is never parsed whole.
      document = parse(payload.query, { maxTokens: OPERATION_LIMITS.tokens });
    } catch (err) {
      return err instanceof GraphQLError ? withCode([err], 'GRAPHQL_PARSE_FAILED') : [refusal('Could not parse the document', 'GRAPHQL_PARSE_FAILED')];
    }
    const operationName = typeof payload.operationName === 'string' ? payload.operationName : undefined;
    const definition = getOperationAST(document, operationName);
    if (!definition) return [refusal('Unable to identify the operation', 'BAD_REQUEST')];
    if (definition.operation !== 'subscription') {
      return [refusal(`Only subscriptions are served over the socket: send a ${definition.operation} over HTTP`, 'BAD_REQUEST')];
    }
    let invalid: readonly GraphQLError[];
    try {
      // Production names no field the document got wrong ("Did you mean"): introspection is off there, and so is that.
      invalid = validate(schema, document, rules, { maxErrors: 50, hideSuggestions: options.production });
    } catch (err) {
      // graphql-js throws from a rule on a few documents (a required variable in @skip on a subscription's root field).
      if (!(err instanceof GraphQLError)) throw err;
      invalid = [err];
    }
    if (invalid.length > 0) return withCode(invalid, 'GRAPHQL_VALIDATION_FAILED');
    const variableValues = payload.variables ?? undefined;
    const tooCostly = costLimit(document, definition, variableValues);
    if (tooCostly) return [tooCostly];
    const args: ExecutionArgs = {
      schema,
      document,
      operationName,
      variableValues,
      contextValue: createSocketContext(services, liveFeed(operation, limits.maxQueuedEvents), loaders, address),
      hideSuggestions: options.production,
    };
    // Started here rather than by graphql-ws, so that a refusal when it starts (its guard: FORBIDDEN for a member
    // asking for checkIns; variables that do not coerce) is an `error` message for this operation, as for a document
    // that does not validate, and the socket goes on with the others.
    const result = await subscribe(args);
    if (!(Symbol.asyncIterator in result)) {
      // An error with a path came from the field (its guard, or a fault, which the formatting masks); one without is
      // about the variables, which graphql-js coerces first and Apollo calls BAD_USER_INPUT over HTTP.
      return (result.errors ?? [refusal('The subscription could not start', 'BAD_REQUEST')]).map((e) =>
        e.path || e.extensions?.code ? e : withCode([e], 'BAD_USER_INPUT')[0]!,
      );
    }
    streams.set(args, result);
    return args;
  }

  return {
    async drain() {
      stopCredentials();
      stopGap();
      await glue.drain(DRAIN_GRACE_MS);
    },
  };
}
