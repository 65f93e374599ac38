/**
 * How long and how hard one benchmark run loads the servers. The full run measures the way the issue did
 * (autocannon -c 32, 10 s runs, 3 rounds); `--quick` is a smoke run for CI that must finish in under two minutes,
 * build and data included, on a 2-core machine, and in about half as long again with the PostgreSQL scenarios.
 */
import { isPostgresUrl } from '../../src/shared/postgres.js';

export interface BenchSettings {
  quick: boolean;
  rounds: number;
  /** Seconds per measured run. */
  durationSeconds: number;
  /** Seconds per warm-up run, whose responses are all checked. */
  warmupSeconds: number;
  connections: number;
  /** Members in the database, and check-ins spread over them. */
  memberCount: number;
  checkInCount: number;
  /** Distinct members whose tokens and cookies the token and session scenarios cycle through. */
  identities: number;
  /** Logins per second sent alongside `token-during-logins`. */
  loginsPerSecond: number;
  /**
   * A PostgreSQL server for the PostgreSQL and two-worker scenarios (BENCH_DATABASE_URL, else TEST_DATABASE_URL); the
   * benchmark makes a database of its own there. Unset: those scenarios are skipped.
   */
  postgresUrl: string | undefined;
}

/** How the PostgreSQL scenarios are asked for, in the line printed when they are skipped. */
export const HOW_TO_RUN_PG = 'BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench';

/** A whole number from the environment, or the fallback; anything else is a mistake worth stopping for. */
function positiveInteger(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a whole number above 0 (got "${text}")`);
  return value;
}

/** The PostgreSQL server named, if any; a URL that is not one is a mistake worth stopping for. */
function postgresUrl(env: Record<string, string | undefined>): string | undefined {
  const name = env.BENCH_DATABASE_URL?.trim() ? 'BENCH_DATABASE_URL' : 'TEST_DATABASE_URL';
  const url = env[name]?.trim() || undefined;
  if (url !== undefined && !isPostgresUrl(url)) throw new Error(`${name} must be a postgres:// or postgresql:// URL`);
  return url;
}

/**
 * Reads `--quick` from the arguments and BENCH_ROUNDS, BENCH_DURATION, BENCH_CONNECTIONS, BENCH_DATABASE_URL (or
 * TEST_DATABASE_URL) from the environment.
 */
export function readSettings(argv: readonly string[], env: Record<string, string | undefined>): BenchSettings {
  const unknown = argv.filter((arg) => arg !== '--quick');
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')} (only --quick is understood)`);
  const quick = argv.includes('--quick');
  return {
    quick,
    rounds: positiveInteger(env, 'BENCH_ROUNDS', quick ? 2 : 3),
    durationSeconds: positiveInteger(env, 'BENCH_DURATION', quick ? 2 : 10),
    warmupSeconds: quick ? 1 : 2,
    connections: positiveInteger(env, 'BENCH_CONNECTIONS', 32),
    // The data and the identity count stay the same in a quick run: it is shorter, not smaller.
    memberCount: 10_000,
    checkInCount: 100_000,
    identities: 1_000,
    loginsPerSecond: 20,
    postgresUrl: postgresUrl(env),
  };
}
