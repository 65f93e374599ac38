import { existsSync } from 'node:fs';
import { loadOrCreateDevSessionSecret } from './auth/session-secret.js';
import { loadKeyRing } from './auth/keys.js';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/client.js';
import { prepareData } from './db/seed.js';
import { createLogger } from './logger.js';

/** The one file with side effects: configuration, database, migrations, seed, server, and a graceful stop. */
async function main(): Promise<void> {
  // A local .env, when there is one, fills in what the real environment leaves unset.
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  if (config.sessionSecrets.length === 0) {
    config = { ...config, sessionSecrets: [loadOrCreateDevSessionSecret('./data/session-secret')] };
    log.warn('SESSION_SECRET is not set: using the development secret kept in ./data/session-secret');
  }

  // Production refuses to start without a signing key; development makes one on first start.
  const keyRing = loadKeyRing(config.keysDir, { createIfEmpty: !config.production });
  const database = openDatabase(config.databaseUrl);
  const seeded = await prepareData(database.db, config);
  if (seeded === 'seeded') log.info('seeded the demo members into an empty database');
  if (seeded === 'not-empty' && config.seedDemo) log.info('SEED_DEMO is set but the database already has members: not seeding');

  const keycard = await createApp({ config, database, keyRing, logger: log });
  await new Promise<void>((resolve) => keycard.httpServer.listen(config.port, resolve));
  log.info({ url: `${config.publicUrl}/graphql`, env: config.env }, 'Keycard is serving');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining and shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await keycard.close();
    database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('Keycard failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
