import { existsSync } from 'node:fs';
import { ConfigError } from '../config.js';
import { createLogger } from '../logger.js';
import { createPoolApp } from './app.js';
import { loadPoolConfig, type PoolConfig } from './config.js';
import { openPoolDatabase } from './db/client.js';

/** `npm run pool`: the pool next door, on POOL_PORT, trusting the gym at GYM_URL. */
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config: PoolConfig;
  try {
    config = loadPoolConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, 'pool');
  const database = openPoolDatabase(config.databaseUrl);
  const pool = await createPoolApp({ config, database, logger: log });
  await new Promise<void>((resolve) => pool.httpServer.listen(config.port, resolve));
  log.info({ url: `http://localhost:${config.port}/graphql`, gym: config.gymUrl }, 'the pool is open');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'closing the pool');
    setTimeout(() => process.exit(1), 10_000).unref();
    await pool.close();
    database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('The pool failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
