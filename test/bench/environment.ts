/**
 * The environment every gym of the benchmark runs with: the single-process gyms (server.ts, which hands it to
 * loadConfig) and the two-worker cluster (cluster.ts, which hands it to `node dist/gym/src/main.js`), so that the
 * cluster differs from the gym it is compared with in its number of workers and nothing else.
 */
import { randomBytes } from 'node:crypto';

/**
 * The issuer every gym names in its tokens. It is the gyms' default (PUBLIC_URL unset, PORT 4000), spelled out
 * because the cluster listens on another port and must still accept the tokens another gym process minted.
 */
export const BENCH_PUBLIC_URL = 'http://localhost:4000';

export interface GymEnvironmentOptions {
  /** A SQLite file, or a postgres:// URL. */
  databaseUrl: string;
  keysDir: string;
  revocation: 'stateless' | 'strict';
}

/**
 * The gym's environment, as an operator would set it. No LOG_LEVEL: the request log stays at its default level.
 * No NODE_ENV: every gym of the benchmark runs in the default mode alike. Credentials live for hours so that a long
 * run never sees one expire mid-way; a lifetime changes nothing a request costs. The per-address login throttle is
 * raised because every login of the benchmark comes from one address.
 */
export function gymEnvironment(options: GymEnvironmentOptions): Record<string, string> {
  return {
    DATABASE_URL: options.databaseUrl,
    KEYS_DIR: options.keysDir,
    PUBLIC_URL: BENCH_PUBLIC_URL,
    SESSION_SECRET: randomBytes(32).toString('hex'),
    TOKEN_REVOCATION: options.revocation,
    ACCESS_TOKEN_TTL: '12h',
    SESSION_IDLE_TIMEOUT: '12h',
    LOGIN_MAX_FAILURES_PER_ADDRESS: '1000000',
  };
}
