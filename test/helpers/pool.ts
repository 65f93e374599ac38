import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createPoolApp, type PoolApp } from '../../src/pool/app.js';
import { loadPoolConfig } from '../../src/pool/config.js';
import { openPoolDatabase, type PoolDatabase } from '../../src/pool/db/client.js';
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from './app.js';
import { Client, DEMO, LOGIN, type DemoName, type GqlResponse } from './client.js';

export interface TestPool {
  url: string;
  pool: PoolApp;
  database: PoolDatabase;
  logs: () => Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * A gym and a pool that trusts it, started before the enclosing describe block's tests and stopped after them. The
 * returned object is filled in by then: read `servers.gym` and `servers.pool` inside the tests.
 */
export function gymWithPool(poolEnv: Record<string, string> = {}): { gym: TestApp; pool: TestPool } {
  const servers = {} as { gym: TestApp; pool: TestPool };
  beforeAll(async () => {
    servers.gym = await startTestApp();
    servers.pool = await startTestPool(servers.gym.url, poolEnv);
  });
  afterAll(async () => {
    await servers.pool?.close();
    await servers.gym?.close();
  });
  return servers;
}

/** The real pool service on port 0, with its own in-memory database, trusting the gym at `gymUrl`. */
export async function startTestPool(gymUrl: string, env: Record<string, string> = {}): Promise<TestPool> {
  const config = loadPoolConfig({ NODE_ENV: 'test', GYM_URL: gymUrl, POOL_DATABASE_URL: ':memory:', LOG_LEVEL: 'debug', ...env });
  const database = openPoolDatabase(config.databaseUrl);
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
  const pool = await createPoolApp({ config, database, logger });
  await new Promise<void>((resolve) => pool.httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = pool.httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pool,
    database,
    logs: () => lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    async close() {
      await pool.close();
      database.close();
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
