import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { ApolloServerOptions, ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { TokenFailureReason } from '../errors.js';
import { createFormatError } from '../errors.js';
import { operationLimitRules } from './limits.js';

/**
 * The HTTP and GraphQL rules every Keycard service serves by (the gym and the pool alike): body limit, no-store,
 * CSRF prevention, no batching, operation limits, masked errors, RFC 6750 challenges and one log line per request.
 */

export const BODY_LIMIT = '100kb';
const REQUEST_ID = /^[\w.:-]{1,64}$/;

/** What the request's log line says about a GraphQL operation, filled in as the request goes. */
export interface RequestLog {
  operationName?: string | null;
  viewer?: { method: string; memberId: number | string } | null;
  errorCodes?: string[];
}

/** The part of a service's context these rules read. */
export interface HttpContext extends BaseContext {
  viewer: { method: string; memberId: number | string } | null;
  authFailure: { reason: TokenFailureReason } | null;
  requestLog: RequestLog;
}

/**
 * One line per request: id, route, status, duration, operation, who (method and member id) and outcome. Built from
 * what the request did, never from its headers or body, so no cookie, token or password can reach the log.
 */
export function requestLogger(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    const entry: RequestLog = {};
    res.locals.requestLog = entry;
    res.on('finish', () => {
      const viewer = entry.viewer;
      const outcome =
        res.statusCode >= 500 ? 'error' : entry.errorCodes?.length ? `errors:${entry.errorCodes.join(',')}` : res.statusCode >= 400 ? 'refused' : 'ok';
      log.info(
        {
          reqId: id,
          method: req.method,
          // The route without its query string, which may carry things that must not be logged.
          path: req.originalUrl.split('?')[0],
          status: res.statusCode,
          durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
          operation: entry.operationName ?? undefined,
          auth: viewer?.method ?? 'anonymous',
          memberId: viewer?.memberId,
          outcome,
        },
        'request',
      );
    });
    next();
  };
}

/**
 * helmet's security headers (nosniff, no referrer, frame and cross-origin policies, HSTS...). The content security
 * policy stays off outside production, where the Sandbox page loads Apollo's embed script; production serves no page.
 */
export function securityHeaders(production: boolean): RequestHandler {
  return helmet({ contentSecurityPolicy: production ? undefined : false, crossOriginEmbedderPolicy: false });
}

/**
 * An Express app and its HTTP server, as both services start them: no X-Powered-By (it only helps an attacker pick
 * exploits), no ETag (responses are personal and no-store: revalidation has nothing to offer).
 */
export function createHttpApp(): { app: express.Express; httpServer: http.Server } {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  return { app, httpServer: http.createServer(app) };
}

/** Every GraphQL response is personal: never cached by a browser or a proxy. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/** JSON bodies up to 100 kB; larger ones get 413 before anything parses them. */
export const jsonBody = (): RequestHandler => express.json({ limit: BODY_LIMIT });

/** no-store on the GraphQL response itself, the RFC 6750 challenge, and what the log line needs. */
export function responsePlugin<C extends HttpContext>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
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
          const codes = [...(errors ?? []), ...(single?.errors ?? [])].map((e) => String(e.extensions?.code ?? ''));
          entry.errorCodes = [...new Set(codes.filter(Boolean))];
        },
      };
    },
  };
}

/**
 * The Apollo Server settings both services share; each adds its schema. Sandbox only outside production, opening
 * with the service's starter document.
 */
export function graphqlDefaults<C extends HttpContext>(options: {
  production: boolean;
  introspection: boolean;
  log: Logger;
  httpServer: http.Server;
  sandbox: { document: string; includeCookies?: boolean };
}) {
  return {
    // Apollo's own warnings go to the same structured log as everything else.
    logger: options.log,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: options.httpServer }),
      options.production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, ...options.sandbox }),
      responsePlugin<C>(),
    ],
    introspection: options.introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: options.production,
    validationRules: operationLimitRules({ exposeLimits: !options.production, exemptIntrospection: options.introspection }),
    formatError: createFormatError((error) => options.log.error({ err: error }, 'unexpected error in a GraphQL operation')),
  } satisfies Partial<ApolloServerOptions<C>>;
}

/** Body-parser and other HTTP-level errors as GraphQL-shaped JSON, never an HTML page or a stack. */
export function httpErrors(log: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const status = Number(err?.status ?? err?.statusCode ?? 500);
    if (status >= 500) log.error({ err }, 'unhandled error');
    const message =
      status === 413 ? `Request body too large (limit ${BODY_LIMIT})` : status >= 500 ? 'Internal server error' : 'Malformed request';
    if (res.headersSent) return;
    res.status(status).json({ errors: [{ message, extensions: { code: status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST' } }] });
  };
}

/** `GET /healthz`: 200 while the database answers a trivial query, 503 otherwise. */
export function healthCheck(sqlite: { prepare(sql: string): { get(): unknown } }): RequestHandler {
  return (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    try {
      sqlite.prepare('select 1').get();
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  };
}

/** Unknown routes: a JSON 404. */
export const notFound: RequestHandler = (_req, res) => {
  res.status(404).json({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
};
