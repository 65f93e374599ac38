import { loadKeyRing } from './auth/keys.js';
import { loadOrCreateDevSessionSecret } from './auth/session-secret.js';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { prepareData } from './db/seed.js';
import { createLogger } from './shared/logger.js';
import { configOrExit, stopOnSignals } from './shared/process.js';

/** The one file with side effects: configuration, keys, database, migrations, seed, server, and a graceful stop. */
async function main(): Promise<void> {
  let config = configOrExit(loadConfig);
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
  stopOnSignals(async () => {
    await keycard.close();
    database.close();
  }, log);
}

main().catch((err: unknown) => {
  console.error('Keycard failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
