import { randomBytes } from 'node:crypto';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { Logger } from 'pino';
import { realClock, type Clock } from '../shared/clock.js';
import { applyAuthDirective } from '../shared/directive.js';
import { scheduleChores } from '../shared/housekeeping.js';
import { createLogger } from '../shared/logger.js';
import { POOL_SCHEMA_DIR } from '../shared/paths.js';
import { createService, type Service } from '../shared/server.js';
import { loadTypeDefs } from '../shared/type-defs.js';
import type { PoolConfig } from './config.js';
import { createPoolContext, partnerTokenStrategy, type PoolContext } from './context.js';
import type { PoolData } from './db/data.js';
import { poolResolvers } from './resolvers.js';
import { PartnerTokenVerifier } from './verifier.js';
import { PoolSessions } from './web/sessions.js';
import { poolSite } from './web/site.js';

/** The pool's server: the shared service shell and the card reader behind it. */
export interface PoolApp extends Service<PoolContext> {
  verifier: PartnerTokenVerifier;
  /** The website's sessions, in the pool's database. */
  sessions: PoolSessions;
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

/** The pool's schema: its SDL, its resolvers, and the shared @auth transform, applied last. */
export function buildPoolSchema() {
  return applyAuthDirective(makeExecutableSchema({ typeDefs: loadTypeDefs(POOL_SCHEMA_DIR), resolvers: poolResolvers as never }));
}

export interface PoolAppOptions {
  config: PoolConfig;
  database: PoolData;
  logger?: Logger;
  /** Whose time partner tokens expire and the gym's key set ages on: the machine's unless given (tests move one). */
  clock?: Clock;
}

/**
 * The pool next door: a separate Express + Apollo server that admits gym members on partner tokens it verifies with
 * the gym's published keys. It has its own database (SQLite, or PostgreSQL) and never opens the gym's.
 */
export async function createPoolApp(options: PoolAppOptions): Promise<PoolApp> {
  const { config, database } = options;
  const log = options.logger ?? createLogger(config.logLevel, 'pool');
  const verifier = new PartnerTokenVerifier({
    gymUrl: config.gymUrl,
    issuer: config.gymIssuer,
    audience: config.audience,
    cacheMaxAgeMs: config.jwks.cacheMaxAgeMs,
    staleMaxAgeMs: config.jwks.staleMaxAgeMs,
    requestsPerMinute: config.jwks.requestsPerMinute,
    clock: options.clock ?? realClock,
    log,
  });
  const strategy = partnerTokenStrategy(verifier);
  const schema = buildPoolSchema();
  // Development without POOL_SESSION_SECRET: a secret for this run only (website sessions end when the pool restarts).
  const sessionSecret = config.sessionSecret ?? randomBytes(32).toString('base64url');
  if (!config.sessionSecret) log.warn({}, 'POOL_SESSION_SECRET is not set: the website sessions last until the pool restarts');
  const sessions = new PoolSessions({ data: database, secret: sessionSecret, production: config.production });
  // Every read refuses a session past its deadline; the sweep only drops the dead rows (one idempotent DELETE, so
  // processes sweeping at once merely find less to delete).
  const stopChores = scheduleChores({ 'sweep website sessions': () => sessions.store.sweep() }, log);
  const service = await createService<PoolContext>({
    log,
    production: config.production,
    trustProxy: config.trustProxy,
    introspection: config.introspection,
    schema,
    sandbox: { document: SANDBOX_DOCUMENT },
    healthy: () => database.healthy(),
    context: (req, _res, requestLog) => createPoolContext(req, requestLog, { db: database, strategy }),
    // The website: "Sign in with the gym", and a Swim button on the same guarded service as the API.
    routes: (app) => app.use(poolSite({ config, db: database, schema, sessions, log })),
    onClose: stopChores,
  });
  return { ...service, verifier, sessions };
}
