import { createLogger, describeError } from '../shared/logger.js';
import { configOrExit, stopOnSignals } from '../shared/process.js';
import { createPoolApp } from './app.js';
import { loadPoolConfig } from './config.js';
import { openPoolData } from './db/client.js';

/** `npm run pool`: the pool next door, on POOL_PORT, trusting the gym at GYM_URL. */
async function main(): Promise<void> {
  const config = configOrExit(loadPoolConfig);
  const log = createLogger(config.logLevel, 'pool');
  const database = await openPoolData(config.databaseUrl, {
    poolSize: config.databasePoolSize,
    onError: (err) => log.warn({ err }, 'a PostgreSQL connection failed while idle: dropped'),
  });
  const pool = await createPoolApp({ config, database, logger: log });
  await new Promise<void>((resolve) => pool.httpServer.listen(config.port, resolve));
  log.info({ url: `http://localhost:${config.port}/graphql`, gym: config.gymUrl }, 'the pool is open');
  stopOnSignals(async () => {
    await pool.close();
    await database.close();
  }, log);
}

main().catch((err: unknown) => {
  console.error(`The pool failed to start: ${describeError(err)}`);
  process.exit(1);
});
