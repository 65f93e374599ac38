import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin, type BaseContext, type GraphQLRequestListener } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { GraphQLError, type ValidationRule } from 'graphql';
import type { Logger } from 'pino';
import type { TokenFailureReason } from './errors.js';
import type { CostLimit } from './cost-limit.js';
import type { GraphQLPipeline } from './graphql-pipeline.js';
import type { RequestLog } from './http-front.js';

/** The part of a service's context the shell reads. */
export interface HttpContext extends BaseContext {
  viewer: { method: string; memberId: number | string } | null;
  authFailure: { reason: TokenFailureReason } | null;
  requestLog: RequestLog;
}

export interface ApolloOptions {
  /** The rules, limits and error formatting every operation goes through, whatever carries it. */
  pipeline: GraphQLPipeline;
  httpServer: http.Server;
  /** Sockets on the same HTTP server, drained when Apollo stops (upgraded sockets are no longer the server's). */
  sockets?: { drain(): Promise<void> };
  log: Logger;
  production: boolean;
  introspection: boolean;
  /** Sandbox (development only) opens with this document. */
  sandbox: { document: string; includeCookies?: boolean };
}

/**
 * Apollo Server configured from the pipeline: its token limit as `parseOptions`, its rules as `validationRules` (with
 * `knownOperationType`, which only HTTP needs), its validation options, its cost limit in `didResolveOperation`, and
 * its `formatError`. Apollo parses and validates a document once and caches it by the query's hash, so a repeated
 * query runs none of the rules again; the cost of an operation without variables is kept with the cached document.
 */
export function createApollo<C extends HttpContext>(options: ApolloOptions): ApolloServer<C> {
  const { pipeline, sockets } = options;
  return new ApolloServer<C>({
    schema: pipeline.schema,
    // The process's own handler (stopOnSignals) stops the server, once: Apollo's would run a second stop beside it,
    // which never finishes, and the database would never be closed.
    stopOnTerminationSignals: false,
    // Apollo's own warnings go to the same structured log as everything else.
    logger: options.log,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: options.httpServer }),
      // Apollo's documented way to close a WebSocket server with it.
      ...(sockets ? [{ serverWillStart: async () => ({ drainServer: () => sockets.drain() }) }] : []),
      options.production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, ...options.sandbox }),
      responsePlugin<C>(),
      costLimitPlugin<C>(pipeline.costLimit),
      // Every answer is personal and no-store, so Apollo's cache hints (a hook on every field it resolves) are moot.
      ApolloServerPluginCacheControlDisabled(),
    ],
    introspection: options.introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    parseOptions: pipeline.parseOptions,
    validationRules: [knownOperationType, ...pipeline.validationRules],
    validationOptions: pipeline.validationOptions,
    formatError: pipeline.formatError,
  });
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

/**
 * The pipeline's cost limit, once per request with the request's variables (which validation, cached per document,
 * never sees): an operation over the budget is refused before it runs.
 */
function costLimitPlugin<C extends BaseContext>(check: CostLimit): ApolloServerPlugin<C> {
  const listener: GraphQLRequestListener<C> = {
    async didResolveOperation({ document, operation, request }) {
      // No operation (an unknown operationName): Apollo refuses the request itself, and nothing runs.
      if (!operation) return;
      const refused = check(document, operation, request.variables);
      if (refused) throw refused;
    },
  };
  // One listener object for every request: Apollo only calls its hook.
  return { requestDidStart: async () => listener };
}

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
  // One listener object for every request: Apollo only calls its hook.
  return { requestDidStart: async () => listener };
}
