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
import type { Context as GraphQLWsContext } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Viewer } from '../auth/viewer.js';
import { createSocketContext, type Services } from '../context.js';
import { createLoaders } from '../db/loaders.js';
import { createFormatError, isDatabaseUnavailable } from '../errors.js';
import { createCostLimit } from '../shared/cost-limit.js';
import { OPERATION_LIMITS, operationLimitRules } from '../shared/limits.js';
import { authenticate, type Presented } from '../shared/strategies.js';
import { closeFor, LiveCloseCode, LiveConnection, type Refusal } from './connection.js';

/** What one process lets sockets hold. Per process: they bound what a client can make this process keep. */
export interface LiveLimits {
  maxConnectionsPerMember: number;
  maxConnectionsPerAddress: number;
  maxSubscriptionsPerConnection: number;
  /** Events that may wait for one subscription's slow consumer before it is dropped. */
  maxQueuedEvents: number;
}

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

/** What Keycard keeps for one socket besides graphql-ws's own (`socket`, `request`). */
type SocketExtra = {
  address: string;
  connection: LiveConnection;
};

type SocketState = GraphQLWsContext<Record<string, unknown>, Extra & Partial<SocketExtra>>;

/** A message's largest size: the HTTP body limit, since a subscription document is no bigger than a query. */
const MAX_MESSAGE_BYTES = 100 * 1024;

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
  const trustedOrigins = new Set([options.publicOrigin, ...options.corsOrigins]);

  const perAddress = new Map<string, number>();
  const perMember = new Map<number, Set<LiveConnection>>();
  /** Subscriptions started and checked in onSubscribe, handed to graphql-ws by its `subscribe`. */
  const started = new WeakMap<ExecutionArgs, AsyncIterable<ExecutionResult>>();

  const recheck = (connections: Iterable<LiveConnection>) => {
    for (const connection of [...connections]) void connection.reauthorise();
  };
  const stopCredentials = services.live.onCredentialsChanged((memberId) => recheck(perMember.get(memberId) ?? []));
  const stopGap = services.live.onGap(() => recheck([...perMember.values()].flatMap((set) => [...set])));

  /** The cookie of a page of the gym's own or of a CORS origin; a browser always sends Origin with a socket. */
  function cookieAllowed(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return false;
    if (trustedOrigins.has(origin)) return true;
    try {
      // The page's own host, as the browser addressed the gym (localhost and 127.0.0.1 alike, behind any name).
      return new URL(origin).host === request.headers.host;
    } catch {
      return false;
    }
  }

  /** Who opened the socket, or why not. */
  async function authenticateSocket(state: SocketState): Promise<{ presented: Presented; viewer: Viewer } | Refusal> {
    const { request } = state.extra;
    const authorization = state.connectionParams?.authorization;
    const headers: IncomingHttpHeaders = {};
    if (authorization !== undefined) {
      if (typeof authorization !== 'string') return 'forbidden';
      headers.authorization = authorization;
    } else if (request.headers.cookie !== undefined && cookieAllowed(request)) {
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
  // Counted when the socket opens, before anything else runs for it (this listener is added before graphql-ws's).
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const address = options.clientAddress(request);
    const open = (perAddress.get(address) ?? 0) + 1;
    perAddress.set(address, open);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    (request as IncomingMessage & { keycardAddress?: string }).keycardAddress = address;
    if (open > limits.maxConnectionsPerAddress) socket.close(LiveCloseCode.PolicyViolation, 'too many connections from this address');
  });

  const server = useServer<Record<string, unknown>, SocketExtra>(
    {
      schema,
      async onConnect(state) {
        const { socket, request } = state.extra;
        state.extra.address = (request as IncomingMessage & { keycardAddress?: string }).keycardAddress ?? options.clientAddress(request);
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
        if (Object.keys(state.subscriptions).length > limits.maxSubscriptionsPerConnection) {
          socket.close(LiveCloseCode.PolicyViolation, 'too many subscriptions on this connection');
          return [refusal('Too many subscriptions on this connection', 'BAD_REQUEST')];
        }
        if (typeof payload.query !== 'string') return [refusal('A subscription needs a query', 'BAD_REQUEST')];
        let document: DocumentNode;
        try {
          // The token limit is enforced while parsing, as over HTTP: a huge document is never parsed whole.
          document = parse(payload.query, { maxTokens: OPERATION_LIMITS.tokens });
        } catch (err) {
          return err instanceof GraphQLError ? withCode([err], 'GRAPHQL_PARSE_FAILED') : [refusal('Could not parse the document', 'GRAPHQL_PARSE_FAILED')];
        }
        const operationName = typeof payload.operationName === 'string' ? payload.operationName : undefined;
        const operation = getOperationAST(document, operationName);
        if (!operation) return [refusal('Unable to identify the operation', 'BAD_REQUEST')];
        if (operation.operation !== 'subscription') {
          return [refusal(`Only subscriptions are served over the socket: send a ${operation.operation} over HTTP`, 'BAD_REQUEST')];
        }
        const invalid = validate(schema, document, rules, { maxErrors: 50 });
        if (invalid.length > 0) return withCode(invalid, 'GRAPHQL_VALIDATION_FAILED');
        const variableValues = payload.variables ?? undefined;
        const tooCostly = costLimit(document, operation, variableValues);
        if (tooCostly) return [tooCostly];
        const args: ExecutionArgs = {
          schema,
          document,
          operationName,
          variableValues,
          contextValue: createSocketContext(services, connection, loaders, address ?? ''),
        };
        // Started here rather than by graphql-ws, so that a refusal when it starts (its guard: FORBIDDEN for a member
        // asking for checkIns; variables that do not coerce) is an `error` message for this operation, as for a
        // document that does not validate, and the socket goes on with the others.
        const result = await subscribe(args);
        if (!(Symbol.asyncIterator in result)) {
          // An error with a path came from the field (its guard, or a fault, which the formatting masks); one without
          // is about the variables, which graphql-js coerces first and Apollo calls BAD_USER_INPUT over HTTP.
          return (result.errors ?? [refusal('The subscription could not start', 'BAD_REQUEST')]).map((e) =>
            e.path || e.extensions?.code ? e : withCode([e], 'BAD_USER_INPUT')[0]!,
          );
        }
        started.set(args, result);
        log.info({ event: 'subscription_start', id: String(id).slice(0, 64), operation: operationName?.slice(0, 200), memberId: connection.memberId }, 'socket');
        return args;
      },

      subscribe(args) {
        const result = started.get(args);
        started.delete(args);
        return result ?? subscribe(args);
      },

      onNext(_state, _id, _payload, _args, result) {
        if (!result.errors?.length) return undefined;
        return { ...result, errors: format(result.errors) };
      },

      onError(_state, _id, _payload, errors) {
        return format(errors);
      },

      onClose(state, code, reason) {
        const { connection } = state.extra;
        if (!connection) return;
        connection.dispose();
        forget(connection);
        log.info({ event: 'socket_close', memberId: connection.memberId, code, reason: reason?.slice(0, 100) }, 'socket');
      },
    },
    wss,
  );

  return {
    async drain() {
      stopCredentials();
      stopGap();
      await server.dispose();
    },
  };
}
