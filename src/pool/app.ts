import { readdirSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type express from 'express';
import type { Logger } from 'pino';
import { applyAuthDirective } from '../shared/directive.js';
import { createHttpApp, graphqlDefaults, healthCheck, httpErrors, jsonBody, noStore, notFound, requestLogger, securityHeaders } from '../shared/server.js';
import { createLogger } from '../shared/logger.js';
import { POOL_SCHEMA_DIR } from '../shared/paths.js';
import type { PoolConfig } from './config.js';
import { createPoolContext, partnerTokenStrategy, type PoolContext } from './context.js';
import type { PoolDatabase } from './db/client.js';
import { poolResolvers } from './resolvers.js';
import { PartnerTokenVerifier } from './verifier.js';

export interface PoolApp {
  app: express.Express;
  httpServer: http.Server;
  apollo: ApolloServer<PoolContext>;
  verifier: PartnerTokenVerifier;
  close(): Promise<void>;
}

const SANDBOX_DOCUMENT = `# Get a keycard for the pool at the gym (issuePartnerToken(audience: "pool")), then add the header
# Authorization: Bearer <token> in the Headers tab.
mutation Swim {
  swim { admittedAt member { name } }
}

query MyVisits {
  swimmer { id name }
  visits
}
`;

/** The pool's schema: its SDL, its resolvers, and the gym's @auth transform, applied last. */
export function buildPoolSchema() {
  const typeDefs = readdirSync(POOL_SCHEMA_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .map((f) => readFileSync(path.join(POOL_SCHEMA_DIR, f), 'utf8'));
  return applyAuthDirective(makeExecutableSchema({ typeDefs, resolvers: poolResolvers as never }));
}

/**
 * The pool next door: a separate Express + Apollo server that admits gym members on partner tokens it verifies with
 * the gym's published keys. It has its own database and never opens the gym's.
 */
export async function createPoolApp(options: { config: PoolConfig; database: PoolDatabase; logger?: Logger }): Promise<PoolApp> {
  const { config, database } = options;
  const log = options.logger ?? createLogger(config.logLevel);
  const verifier = new PartnerTokenVerifier({
    gymUrl: config.gymUrl,
    issuer: config.gymIssuer,
    audience: config.audience,
    cacheMaxAgeMs: config.jwks.cacheMaxAgeMs,
    staleMaxAgeMs: config.jwks.staleMaxAgeMs,
    requestsPerMinute: config.jwks.requestsPerMinute,
    log,
  });

  const strategy = partnerTokenStrategy(verifier);
  const { app, httpServer } = createHttpApp();
  const apollo = new ApolloServer<PoolContext>({
    schema: buildPoolSchema(),
    ...graphqlDefaults<PoolContext>({
      production: config.production,
      introspection: config.introspection,
      log,
      httpServer,
      sandbox: { document: SANDBOX_DOCUMENT },
    }),
  });
  await apollo.start();

  app.use(requestLogger(log));
  app.use(securityHeaders(config.production));
  app.get('/healthz', healthCheck(database.sqlite));
  app.use(
    '/graphql',
    noStore,
    jsonBody(),
    expressMiddleware(apollo, { context: ({ req, res }) => createPoolContext(req, res, { db: database.db, strategy }) }),
  );
  app.use(notFound);
  app.use(httpErrors(log));

  return {
    app,
    httpServer,
    apollo,
    verifier,
    async close() {
      await apollo.stop();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
