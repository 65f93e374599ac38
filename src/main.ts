import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { loadKeyRing } from './auth/keys.js';
import { loadOrCreateDevSessionSecret } from './auth/session-secret.js';
import { createApp } from './app.js';
import { loadConfig, type Config } from './config.js';
import { openDatabase } from './db/client.js';
import { prepareData } from './db/seed.js';
import { createLogger, describeError } from './shared/logger.js';
import { configOrExit, stopOnSignals } from './shared/process.js';
import { superviseWorkers } from './shared/workers.js';

/**
 * What only one process may do, before any request is served: make the development session secret and signing key if
 * there are none (two workers would each make their own), apply the migrations and load the plans (and the demo, in
 * development). Returns the configuration with its session secrets resolved.
 */
async function prepare(config: Config, log: Logger): Promise<Config> {
  if (config.sessionSecrets.length === 0) {
    config = { ...config, sessionSecrets: [loadOrCreateDevSessionSecret('./data/session-secret')] };
    log.warn('SESSION_SECRET is not set: using the development secret kept in ./data/session-secret');
  }
  // Production refuses to start without a signing key; development makes one on first start.
  loadKeyRing(config.keysDir, { createIfEmpty: !config.production });
  const database = await openDatabase(config.databaseUrl, { poolSize: 1 });
  try {
    const seeded = await prepareData(database, config);
    if (seeded === 'seeded') log.info('seeded the demo members into an empty database');
    if (seeded === 'not-empty' && config.seedDemo) log.info('SEED_DEMO is set but the database already has members: not seeding');
  } finally {
    await database.close();
  }
  return config;
}

/** One gym server: keys, database, the app, listening; drains and closes on SIGTERM or SIGINT. */
async function serve(config: Config, log: Logger): Promise<void> {
  const keyRing = loadKeyRing(config.keysDir, { createIfEmpty: false });
  const database = await openDatabase(config.databaseUrl, {
    poolSize: config.databasePoolSize,
    onError: (err) => log.warn({ err }, 'a PostgreSQL connection failed while idle: dropped'),
  });
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
 * prepares once, then runs N workers on one port, restarts a worker that dies, and stops them all on a signal.
 */
async function main(): Promise<void> {
  const config = configOrExit(loadConfig);
  const log = createLogger(config.logLevel);
  if (cluster.isWorker) {
    // The primary prepared everything (the session secret file included); the worker reads the same configuration.
    await serve(await resolveSecrets(config), log.child({ worker: cluster.worker!.id }));
    return;
  }
  const prepared = await prepare(config, log);
  if (config.webConcurrency === 1) {
    await serve(prepared, log);
    return;
  }
  superviseWorkers(config.webConcurrency, log);
}

/** A worker's session secrets: the configured ones, or the development secret its primary made. */
async function resolveSecrets(config: Config): Promise<Config> {
  if (config.sessionSecrets.length > 0) return config;
  return { ...config, sessionSecrets: [loadOrCreateDevSessionSecret('./data/session-secret')] };
}

main().catch((err: unknown) => {
  console.error(`Keycard failed to start: ${describeError(err)}`);
  process.exit(1);
});
