import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { ApolloServer, type ApolloServerPlugin, type BaseContext, type GraphQLRequestListener } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { GraphQLError, type GraphQLSchema, type ValidationRule } from 'graphql';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { createFormatError, type TokenFailureReason } from './errors.js';
import { costLimitPlugin } from './cost-limit.js';
import { OPERATION_LIMITS, operationLimitRules } from './limits.js';
import { clip } from './text.js';

/**
 * The one server shell every Keycard service runs in (the gym and the pool alike): security headers, a request id
 * and one log line per request, `/healthz`, `/graphql` with its body limit, no-store, CSRF prevention, no batching,
 * operation limits, masked errors and RFC 6750 challenges, JSON 404s, and a graceful close.
 *
 * Everything that can be decided once is decided when the shell is built, not per request: the security headers
 * are computed by helmet once and replayed, CORS runs only for requests that send an Origin, and the log line is
 * written by one shared listener rather than a closure per request.
 */

const BODY_LIMIT = '100kb';
const REQUEST_ID = /^[\w.:-]{1,64}$/;

/** What the request's log line says about a GraphQL operation, filled in as the request goes. */
export interface RequestLog {
  operationName?: string | null;
  viewer?: { method: string; memberId: number | string } | null;
  errorCodes?: string[];
}

/** The part of a service's context the shell reads. */
export interface HttpContext extends BaseContext {
  viewer: { method: string; memberId: number | string } | null;
  authFailure: { reason: TokenFailureReason } | null;
  requestLog: RequestLog;
}

/** What a slow or greedy client may hold of the server: a body trickled byte by byte is cut off, not waited for. */
export interface HttpLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  maxConnections: number;
}

/** Node's defaults are generous (5 minutes for a request, a minute for its headers, no cap on connections). */
const DEFAULT_HTTP_LIMITS: HttpLimits = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, maxConnections: 1000 };

export interface ServiceOptions<C extends HttpContext> {
  /** Timeouts and the connection cap; Node's own defaults are far looser. */
  httpLimits?: HttpLimits;
  log: Logger;
  production: boolean;
  introspection: boolean;
  schema: GraphQLSchema;
  /** Sandbox (development only) opens with this document. */
  sandbox: { document: string; includeCookies?: boolean };
  /** True while the service's database answers (within a bound): `/healthz` says 200, else 503. */
  healthy: () => Promise<boolean>;
  /** Origins allowed to call `/graphql` with credentials; none means no CORS headers at all. */
  corsOrigins?: readonly string[];
  /** Express `trust proxy`; false (the default) ignores X-Forwarded-For, so it cannot be forged. */
  trustProxy?: boolean | number | string;
  /** Routes of the service's own, mounted before `/graphql` (discovery, keys). */
  routes?: (app: express.Express) => void;
  /** Builds one operation's context around the request's log entry. */
  context: (req: Request, res: Response, requestLog: RequestLog) => Promise<C>;
  /**
   * Sockets served on the same HTTP server (the gym's subscriptions), made once the server exists; Apollo drains them
   * when it stops, beside the HTTP connections.
   */
  sockets?: (httpServer: http.Server, app: express.Express) => { drain(): Promise<void> };
  /** Stops what the service owns once the HTTP server has drained (timers, stores). The caller closes the database. */
  onClose?: () => void | Promise<void>;
}

export interface Service<C extends HttpContext> {
  app: express.Express;
  httpServer: http.Server;
  apollo: ApolloServer<C>;
  /** Stops taking requests, drains those in flight, then runs `onClose`. */
  close(): Promise<void>;
}

/** Node's own answers to a request it cannot parse or that took too long, by its error code. */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};
/** How long a connection whose request could not be parsed is read on (what comes dropped) after its answer. */
const LINGER_MS = 2_000;
const answeredSockets = new WeakSet<object>();

/**
 * Answers a request Node's parser refused (headers over 16 kB, a malformed request line) as Node does, 431 or 400, but
 * so that the client reads the answer: Node writes it and destroys the socket at once, and the part of the request
 * still unread makes the kernel send a reset that can arrive first, so the client sees ECONNRESET instead (Node 24's
 * client always does, for a large request). Here the server half-closes after the answer and reads on, dropping what
 * comes, until the client closes or LINGER_MS pass. A client that is too slow (408) is still cut off at once.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // The parser reports again for what arrives after its first error: one answer per connection.
  if (answeredSockets.has(socket)) return;
  answeredSockets.add(socket);
  // Never write into a response that has begun (it would corrupt it), nor to a client that is gone.
  const inFlight = (socket as { _httpMessage?: http.ServerResponse })._httpMessage;
  if (!socket.writable || error.code === 'ECONNRESET' || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? '400 Bad Request';
  const answer = `HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    socket.write(answer);
    socket.destroy();
    return;
  }
  socket.end(answer);
  socket.resume();
  socket.once('end', () => socket.destroy());
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** Builds a service's Express app, HTTP server and Apollo Server, started but not listening. */
export async function createService<C extends HttpContext>(options: ServiceOptions<C>): Promise<Service<C>> {
  const app = express();
  // X-Powered-By only helps an attacker pick exploits; ETags have nothing to offer no-store, personal responses.
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', options.trustProxy ?? false);
  // `/graphql` means exactly that path: no `/graphql/x`, `/GRAPHQL` or `/graphql/`, so a proxy rule written for it
  // cannot be walked around.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  const limits = options.httpLimits ?? DEFAULT_HTTP_LIMITS;
  const httpServer = http.createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      // Node checks those timeouts on this interval: often enough that they hold to about a second.
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    app,
  );
  httpServer.maxConnections = limits.maxConnections;
  httpServer.on('clientError', answerClientError);
  const sockets = options.sockets?.(httpServer, app);

  // Production says that an operation was too big, not which limit it hit.
  const exposeLimits = !options.production;
  const apollo = new ApolloServer<C>({
    schema: options.schema,
    // The process's own handler (stopOnSignals) stops the server, once: Apollo's would run a second stop beside it,
    // which never finishes, and the database would never be closed.
    stopOnTerminationSignals: false,
    // Apollo's own warnings go to the same structured log as everything else.
    logger: options.log,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Apollo's documented way to close a WebSocket server with it (upgraded sockets are no longer the HTTP server's).
      ...(sockets ? [{ serverWillStart: async () => ({ drainServer: () => sockets.drain() }) }] : []),
      options.production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, ...options.sandbox }),
      responsePlugin<C>(),
      // The cost limit reads `first` from variables too, so it runs per request (once), not among the validation rules.
      costLimitPlugin<C>({ schema: options.schema, exposeLimits, exemptIntrospection: options.introspection }),
      // Every answer is personal and no-store, so Apollo's cache hints (a hook on every field it resolves) are moot.
      ApolloServerPluginCacheControlDisabled(),
    ],
    introspection: options.introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: options.production,
    validationRules: [knownOperationType, ...operationLimitRules({ exposeLimits, exemptIntrospection: options.introspection })],
    // The token limit is enforced while parsing: a huge document is never parsed whole, let alone validated.
    parseOptions: { maxTokens: OPERATION_LIMITS.tokens },
    formatError: createFormatError((error) => options.log.error({ err: error }, 'unexpected error in a GraphQL operation'), { exposeLimits }),
  });
  await apollo.start();

  // The hot route first: every layer Express walks before it is paid for by every GraphQL request.
  app.use(front(options.log, options.production));
  const graphql: RequestHandler[] = [];
  if (options.corsOrigins?.length) graphql.push(corsFor(options.corsOrigins));
  graphql.push(express.json({ limit: BODY_LIMIT }));
  graphql.push(expressMiddleware(apollo, { context: ({ req, res }) => options.context(req, res, res.locals.requestLog as RequestLog) }));
  app.all('/graphql', ...graphql);
  app.get('/healthz', healthCheck(options.healthy));
  options.routes?.(app);
  app.use(notFound);
  app.use(httpErrors(options.log));

  return {
    app,
    httpServer,
    apollo,
    async close() {
      await apollo.stop();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await options.onClose?.();
    },
  };
}

interface LogState {
  log: Logger;
  id: string;
  started: number;
  entry: RequestLog;
}

/** The longest client-chosen string (a path, an operation name) a log line repeats: the client never sizes the log. */
const MAX_LOGGED_CHARS = 200;

/** The one `finish` listener of every response: no closure is made per request. */
function logFinished(this: Response): void {
  const { log, id, started, entry } = this.locals.logState as LogState;
  const req = this.req;
  const status = this.statusCode;
  const outcome = status >= 500 ? 'error' : entry.errorCodes?.length ? `errors:${entry.errorCodes.join(',')}` : status >= 400 ? 'refused' : 'ok';
  log.info(
    {
      reqId: id,
      method: req.method,
      // The route without its query string, which may carry things that must not be logged.
      path: clip(req.originalUrl.split('?', 1)[0]!, MAX_LOGGED_CHARS),
      status,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      operation: entry.operationName ? clip(entry.operationName, MAX_LOGGED_CHARS) : undefined,
      auth: entry.viewer?.method ?? 'anonymous',
      memberId: entry.viewer?.memberId,
      outcome,
    },
    'request',
  );
}

/**
 * What every response gets, in one middleware (each layer Express walks costs every request): helmet's security
 * headers, `Cache-Control: no-store` (GraphQL answers are personal; routes that may be cached say so themselves), a
 * request id, and one log line when the response is finished.
 *
 * The log line is built from what the request did, never from its headers or body, so no cookie, token or password
 * can reach it; being of that fixed shape, it skips the logger's redaction pass, which every other log call keeps.
 */
function front(log: Logger, production: boolean): RequestHandler {
  const headers = securityHeaders(production);
  const requestLog = log.child({}, { redact: { paths: [] } });
  return (req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    res.setHeader('Cache-Control', 'no-store');
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    const entry: RequestLog = {};
    res.locals.requestLog = entry;
    res.locals.logState = { log: requestLog, id, started: performance.now(), entry } satisfies LogState;
    // `on`, not `once`: 'finish' comes once, and `once` would wrap the listener anew for every request.
    res.on('finish', logFinished);
    next();
  };
}

/**
 * helmet's security headers (nosniff, no referrer, frame and cross-origin policies, HSTS...), computed once by
 * helmet itself at start, to be replayed on every response: the same headers, without running a dozen middlewares
 * per request. The content security policy stays off outside production, where the Sandbox page loads Apollo's
 * embed script; production serves no page.
 */
function securityHeaders(production: boolean): [string, string][] {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name, value),
    removeHeader: (name: string) => headers.delete(name),
  };
  const middleware = helmet({ contentSecurityPolicy: production ? undefined : false, crossOriginEmbedderPolicy: false });
  let ran = false;
  middleware({} as never, recorder as never, (err?: unknown) => {
    if (err) throw err;
    ran = true;
  });
  // helmet decides everything from its options, not from the request; if that ever changed, fail at start.
  if (!ran || headers.size === 0) throw new Error('helmet did not produce its headers at start');
  return [...headers];
}

/** CORS for the configured origins, always with credentials, never `*`; only a request that sends Origin pays for it. */
function corsFor(origins: readonly string[]): RequestHandler {
  const handler = cors({ origin: [...origins], credentials: true, maxAge: 600 });
  return (req, res, next) => (req.headers.origin === undefined ? next() : handler(req, res, next));
}

/**
 * An operation of a type the schema does not have (a `subscription` on the pool, or a `mutation` on a read-only
 * schema) is refused at validation, and so is a `subscription` over HTTP, which is served over graphql-ws on the same
 * path. graphql-js 16 lets both through validation and only fails when executing them, with an error that carries no
 * code, which the client would see as INTERNAL_SERVER_ERROR (and the log as a server fault).
 */
const knownOperationType: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (!context.getSchema().getRootType(node.operation)) {
      context.reportError(new GraphQLError(`This schema has no ${node.operation} operations.`, { nodes: node }));
    } else if (node.operation === 'subscription') {
      context.reportError(new GraphQLError('Subscriptions are served over WebSocket (graphql-ws) on this same path, not over HTTP.', { nodes: node }));
    }
  },
});

/** no-store on the GraphQL response itself, the RFC 6750 challenge, and what the log line needs. */
function responsePlugin<C extends HttpContext>(): ApolloServerPlugin<C> {
  const listener: GraphQLRequestListener<C> = {
    async willSendResponse({ response, contextValue, operationName, errors }) {
      response.http.headers.set('cache-control', 'no-store');
      const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
      // RFC 6750: a request whose bearer token was refused, and that touched a guarded field, answers 401.
      if (contextValue.authFailure && single?.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) {
        response.http.status = 401;
        response.http.headers.set('www-authenticate', 'Bearer error="invalid_token"');
      }
      const entry = contextValue.requestLog;
      entry.operationName = operationName;
      entry.viewer = contextValue.viewer;
      if (errors?.length || single?.errors?.length) {
        const codes = [...(errors ?? []), ...(single?.errors ?? [])].map((e) => String(e.extensions?.code ?? ''));
        entry.errorCodes = [...new Set(codes.filter(Boolean))];
      }
    },
  };
  // One listener object for every request: Apollo only calls its hooks.
  return { requestDidStart: async () => listener };
}

/** Body-parser and other HTTP-level errors as GraphQL-shaped JSON, never an HTML page or a stack. */
function httpErrors(log: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const status = Number(err?.status ?? err?.statusCode ?? 500);
    if (status >= 500) log.error({ err }, 'unhandled error');
    const message =
      status === 413 ? `Request body too large (limit ${BODY_LIMIT})` : status >= 500 ? 'Internal server error' : 'Malformed request';
    if (res.headersSent) return;
    res.status(status).json({ errors: [{ message, extensions: { code: status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST' } }] });
  };
}

/** `GET /healthz`: 200 while the database answers, 503 otherwise. */
function healthCheck(healthy: () => Promise<boolean>): RequestHandler {
  return async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    let ok = false;
    try {
      ok = await healthy();
    } catch {
      ok = false;
    }
    if (ok) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable' });
  };
}

/** Unknown routes: a JSON 404. */
const notFound: RequestHandler = (_req, res) => {
  res.status(404).json({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
};
