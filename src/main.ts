import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { loadKeyRing, type KeyRing } from './auth/keys.js';
import { loadOrCreateDevSessionSecret } from './auth/session-secret.js';
import { createApp } from './app.js';
import { loadConfig, type Config } from './config.js';
import { openDatabase, type GymData } from './db/client.js';
import { prepareData } from './seed.js';
import { createLogger, describeError } from './shared/logger.js';
import { configOrExit, stopOnSignals } from './shared/process.js';
import { superviseWorkers } from './workers.js';

/** The configured session secrets, or the development secret kept in ./data/session-secret (made on first start). */
function withSessionSecrets(config: Config, log?: Logger): Config {
  if (config.sessionSecrets.length > 0) return config;
  log?.warn('SESSION_SECRET is not set: using the development secret kept in ./data/session-secret');
  return { ...config, sessionSecrets: [loadOrCreateDevSessionSecret('./data/session-secret')] };
}

/** The gym's database for serving: its pool sized by DATABASE_POOL_SIZE, a lost idle connection logged. */
function openForServing(config: Config, log: Logger): Promise<GymData> {
  return openDatabase(config.databaseUrl, {
    poolSize: config.databasePoolSize,
    onError: (err) => log.warn({ err }, 'a PostgreSQL connection failed while idle: dropped'),
  });
}

/** Loads the plans, and the demo into an empty database in development (opening the database applied the migrations). */
async function prepareDatabase(database: GymData, config: Config, log: Logger): Promise<void> {
  const seeded = await prepareData(database, config);
  if (seeded === 'seeded') log.info('seeded the demo members into an empty database');
  if (seeded === 'not-empty' && config.seedDemo) log.info('SEED_DEMO is set but the database already has members: not seeding');
}

/** One gym server on its key ring and open database, listening; drains and closes on SIGTERM or SIGINT. */
async function serve(config: Config, log: Logger, keyRing: KeyRing, database: GymData): Promise<void> {
  const keycard = await createApp({ config, database, keyRing, logger: log });
  // Workers of a cluster all listen on the one port: node:cluster hands the primary's connections round to them.
  await new Promise<void>((resolve) => keycard.httpServer.listen(config.port, resolve));
  log.info({ url: `${config.publicUrl}/graphql`, env: config.env }, 'Keycard is serving');
  stopOnSignals(async () => {
    await keycard.close();
    await database.close();
  }, log);
}

/**
 * The one file with side effects. One process by default; with WEB_CONCURRENCY=N (PostgreSQL only), a primary that
 * does once what only one process may do (make the development session secret and signing key if there are none,
 * apply the migrations, load the plans and the demo), then runs N workers on one port, restarts a worker that dies,
 * and stops them all on a signal.
 */
async function main(): Promise<void> {
  const config = configOrExit(loadConfig);
  const log = createLogger(config.logLevel);
  if (cluster.isWorker) {
    // The primary made the secret file and the key; a worker reads them, as every instance sharing them does.
    const workerLog = log.child({ worker: cluster.worker!.id });
    const database = await openForServing(config, workerLog);
    await serve(withSessionSecrets(config), workerLog, loadKeyRing(config.keysDir, { createIfEmpty: false }), database);
    return;
  }
  const prepared = withSessionSecrets(config, log);
  // Production refuses to start without a signing key; development makes one on first start.
  const keyRing = loadKeyRing(config.keysDir, { createIfEmpty: !config.production });
  if (config.webConcurrency === 1) {
    const database = await openForServing(prepared, log);
    await prepareDatabase(database, prepared, log);
    await serve(prepared, log, keyRing, database);
    return;
  }
  const database = await openDatabase(config.databaseUrl, { poolSize: 1 });
  try {
    await prepareDatabase(database, prepared, log);
  } finally {
    await database.close();
  }
  superviseWorkers(config.webConcurrency, log);
}

main().catch((err: unknown) => {
  console.error(`Keycard failed to start: ${describeError(err)}`);
  process.exit(1);
});
