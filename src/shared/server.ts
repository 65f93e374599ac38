import http from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import { createApollo, type HttpContext } from './apollo.js';
import { createGraphQLPipeline, type GraphQLPipeline } from './graphql-pipeline.js';
import { answerClientError, MAX_BODY_BYTES, corsFor, front, healthCheck, httpErrors, notFound, type RequestLog } from './http-front.js';

export type { HttpContext } from './apollo.js';
export type { RequestLog } from './http-front.js';

/**
 * The one server shell every Keycard service runs in (the gym and the pool alike): security headers, a request id
 * and one log line per request, `/healthz`, `/graphql` with its body limit, no-store, CSRF prevention, no batching,
 * the GraphQL pipeline (operation limits, cost, masked errors) and RFC 6750 challenges, JSON 404s, and a graceful
 * close.
 *
 * Everything that can be decided once is decided when the shell is built, not per request: the security headers
 * are computed by helmet once and replayed, CORS runs only for requests that send an Origin, and the log line is
 * written by one shared listener rather than a closure per request.
 */

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
   * Sockets served on the same HTTP server (the gym's subscriptions), made once the server exists, running the same
   * GraphQL pipeline as `/graphql`; Apollo drains them when it stops, beside the HTTP connections.
   */
  sockets?: (httpServer: http.Server, app: express.Express, pipeline: GraphQLPipeline) => { drain(): Promise<void> };
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

/** Builds a service's Express app, HTTP server and Apollo Server, started but not listening. */
export async function createService<C extends HttpContext>(options: ServiceOptions<C>): Promise<Service<C>> {
  const app = expressApp(options.trustProxy ?? false);
  const httpServer = createHttpServer(app, options.httpLimits ?? DEFAULT_HTTP_LIMITS);
  const { schema, production, introspection, log } = options;
  const pipeline = createGraphQLPipeline({ schema, production, introspection, log });
  const sockets = options.sockets?.(httpServer, app, pipeline);
  const apollo = createApollo<C>({ pipeline, httpServer, sockets, log, production, introspection, sandbox: options.sandbox });
  await apollo.start();

  // The hot route first: every layer Express walks before it is paid for by every GraphQL request.
  app.use(front(log, production));
  app.all('/graphql', ...graphqlRoute(apollo, options));
  app.get('/healthz', healthCheck(options.healthy));
  options.routes?.(app);
  app.use(notFound);
  app.use(httpErrors(log));

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

function expressApp(trustProxy: boolean | number | string): express.Express {
  const app = express();
  // X-Powered-By only helps an attacker pick exploits; ETags have nothing to offer no-store, personal responses.
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', trustProxy);
  // `/graphql` means exactly that path: no `/graphql/x`, `/GRAPHQL` or `/graphql/`, so a proxy rule written for it
  // cannot be walked around.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  return app;
}

function createHttpServer(app: express.Express, limits: HttpLimits): http.Server {
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
  return httpServer;
}

/** `/graphql`'s handlers: CORS when configured, the JSON body within its limit, then Apollo. */
function graphqlRoute<C extends HttpContext>(apollo: ApolloServer<C>, options: ServiceOptions<C>): RequestHandler[] {
  const handlers: RequestHandler[] = [];
  if (options.corsOrigins?.length) handlers.push(corsFor(options.corsOrigins));
  handlers.push(express.json({ limit: MAX_BODY_BYTES }));
  handlers.push(expressMiddleware(apollo, { context: ({ req, res }) => options.context(req, res, res.locals.requestLog as RequestLog) }));
  return handlers;
}
