import { existsSync } from 'node:fs';
import { ConfigError } from './errors.js';

/**
 * Reads a service's configuration at start: a local .env (when there is one) fills in what the real environment
 * leaves unset; a bad value prints every problem and exits 1 before anything else happens.
 */
export function configOrExit<T>(load: (env: NodeJS.ProcessEnv) => T): T {
  if (existsSync('.env')) process.loadEnvFile('.env');
  try {
    return load(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * On SIGTERM or SIGINT: stop taking requests, drain those in flight, close what `stop` closes, exit 0. A drain that
 * hangs is cut off after 10 s with exit 1.
 */
export function stopOnSignals(stop: () => Promise<void>, log: { info(obj: object, msg: string): void }): void {
  let stopping = false;
  const handle = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining and shutting down');
    setTimeout(() => process.exit(1), 10_000).unref();
    await stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void handle('SIGTERM'));
  process.on('SIGINT', () => void handle('SIGINT'));
}
