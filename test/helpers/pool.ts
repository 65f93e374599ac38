import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { createPoolApp, type PoolApp } from '../../src/pool/app.js';
import { loadPoolConfig } from '../../src/pool/config.js';
import { openPoolData } from '../../src/pool/db/client.js';
import type { PoolData, PoolEngine } from '../../src/pool/db/data.js';
import type { SqlitePoolData } from '../../src/pool/db/sqlite-data.js';
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from './app.js';
import { Client, DEMO, LOGIN, type DemoName, type GqlResponse } from './client.js';
import { createTestPgDatabase, type TestPgDatabase } from './pg.js';

export interface TestPool {
  url: string;
  pool: PoolApp;
  engine: PoolEngine;
  data: PoolData;
  /** Visits on file: one swimmer's, or everyone's. */
  visitCount(subject?: string): Promise<number>;
  /** Moves a swimmer's visits `ms` into the past. */
  ageVisits(subject: string, ms: number): Promise<void>;
  logs: () => Record<string, unknown>[];
  close(): Promise<void>;
}

export interface TestPoolOptions {
  /** SQLite in memory, or a PostgreSQL database of its own; by default the engine of the run (KEYCARD_TEST_ENGINE). */
  engine?: PoolEngine;
  /** Listen on this port (the gym must know the pool's callback before either starts), instead of any free one. */
  port?: number;
}

const RUN_ENGINE: PoolEngine = process.env.KEYCARD_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

/** What a test looks at or ages in the pool's table, in each engine's SQL (timestamps are milliseconds on SQLite). */
interface VisitSql {
  count(subject?: string): Promise<number>;
  age(subject: string, ms: number): Promise<void>;
  close(): Promise<void>;
}

function sqliteVisits(data: SqlitePoolData): VisitSql {
  const db = data.sqlite.sqlite;
  return {
    count: async (subject) =>
      subject === undefined
        ? (db.prepare('select count(*) n from visits').get() as { n: number }).n
        : (db.prepare('select count(*) n from visits where subject = ?').get(subject) as { n: number }).n,
    age: async (subject, ms) => void db.prepare('update visits set admitted_at = admitted_at - ? where subject = ?').run(ms, subject),
    close: async () => {},
  };
}

function postgresVisits(url: string): VisitSql {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  return {
    count: async (subject) => {
      const { rows } = subject === undefined ? await pool.query('select count(*)::int n from visits') : await pool.query('select count(*)::int n from visits where subject = $1', [subject]);
      return rows[0].n as number;
    },
    age: async (subject, ms) => void (await pool.query(`update visits set admitted_at = admitted_at - $1 * interval '1 millisecond' where subject = $2`, [ms, subject])),
    close: () => pool.end(),
  };
}

/**
 * A gym and a pool that trusts it, started before the enclosing describe block's tests and stopped after them. The
 * returned object is filled in by then: read `servers.gym` and `servers.pool` inside the tests.
 */
export function gymWithPool(poolEnv: Record<string, string> = {}, options: TestPoolOptions = {}): { gym: TestApp; pool: TestPool } {
  const servers = {} as { gym: TestApp; pool: TestPool };
  beforeAll(async () => {
    servers.gym = await startTestApp();
    servers.pool = await startTestPool(servers.gym.url, poolEnv, options);
  });
  afterAll(async () => {
    await servers.pool?.close();
    await servers.gym?.close();
  });
  return servers;
}

/**
 * The real pool service on port 0, trusting the gym at `gymUrl`, with its own database: in memory on SQLite, or a
 * PostgreSQL database made for it and dropped after.
 */
export async function startTestPool(gymUrl: string, env: Record<string, string> = {}, options: TestPoolOptions = {}): Promise<TestPool> {
  const engine = options.engine ?? RUN_ENGINE;
  const made: TestPgDatabase | null = engine === 'postgres' ? await createTestPgDatabase() : null;
  const config = loadPoolConfig({ NODE_ENV: 'test', GYM_URL: gymUrl, POOL_DATABASE_URL: made?.url ?? ':memory:', LOG_LEVEL: 'debug', ...env });
  const data = await openPoolData(config.databaseUrl, { poolSize: config.databasePoolSize });
  const visits = made ? postgresVisits(made.url) : sqliteVisits(data as SqlitePoolData);
  const lines: string[] = [];
  const logger = pino(
    { level: config.logLevel },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const pool = await createPoolApp({ config, database: data, logger });
  await new Promise<void>((resolve) => pool.httpServer.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = pool.httpServer.address() as AddressInfo;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    pool,
    engine,
    data,
    visitCount: (subject) => visits.count(subject),
    ageVisits: (subject, ms) => visits.age(subject, ms),
    logs: () => lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    async close() {
      if (closed) return;
      closed = true;
      await pool.close();
      await data.close();
      await visits.close();
      await made?.drop();
    },
  };
}

export const SWIM = 'mutation { swim { admittedAt member { id name } } }';
const ISSUE = 'mutation($aud: String!) { issuePartnerToken(audience: $aud) { token audience expiresAt } }';

/** A demo member's keycard (access token) from the gym, by the real login. */
export async function gymToken(gym: TestApp, who: DemoName): Promise<{ accessToken: string; memberId: string }> {
  const res = await new Client(gym.url).gql(LOGIN, { input: { ...DEMO[who], mode: 'TOKEN' } });
  if (!res.data?.login) throw new Error(`login as ${who} failed: ${JSON.stringify(res.errors)}`);
  return { accessToken: res.data.login.accessToken, memberId: res.data.login.member.id };
}

/** A partner token for `audience`, issued by the gym to a demo member. */
export async function poolToken(gym: TestApp, who: DemoName, audience = 'pool'): Promise<string> {
  const { accessToken } = await gymToken(gym, who);
  const res = await new Client(gym.url).gql(ISSUE, { aud: audience }, { authorization: `Bearer ${accessToken}` });
  if (!res.data?.issuePartnerToken) throw new Error(`issuePartnerToken failed: ${JSON.stringify(res.errors)}`);
  return res.data.issuePartnerToken.token;
}

/** One request to the pool with a partner token. */
export function swim(pool: TestPool, token: string, query = SWIM): Promise<GqlResponse> {
  return new Client(pool.url).gql(query, undefined, { authorization: `Bearer ${token}` });
}
