import http from 'node:http';
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
import { Client, signInWithKeycard, type DemoName, type GqlResponse } from './client.js';
import type { TestClock } from './clock.js';
import { FormBrowser } from './oidc.js';
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
  /** The website's session rows, as stored. */
  sessionRows(): Promise<SessionRow[]>;
  /** Moves every session's deadline `ms` into the past. */
  ageSessions(ms: number): Promise<void>;
  logs: () => Record<string, unknown>[];
  close(): Promise<void>;
}

export interface TestPoolOptions {
  /** SQLite in memory, or a PostgreSQL database of its own; by default the engine of the run (KEYCARD_TEST_ENGINE). */
  engine?: PoolEngine;
  /** Listen on this port (the gym must know the pool's callback before either starts), instead of any free one. */
  port?: number;
  /** The clock the gym's key set ages on, for a test to move forward (default: the machine's). */
  clock?: TestClock;
}

const RUN_ENGINE: PoolEngine = process.env.KEYCARD_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

/** A website session's row: the hashed id, the swimmer's subject (null while signing in), the deadline in ms. */
export interface SessionRow {
  sid: string;
  subject: string | null;
  expiresAt: number;
}

/** What a test looks at or ages in the pool's tables, in each engine's SQL (timestamps are milliseconds on SQLite). */
interface VisitSql {
  count(subject?: string): Promise<number>;
  age(subject: string, ms: number): Promise<void>;
  sessions(): Promise<SessionRow[]>;
  ageSessions(ms: number): Promise<void>;
  close(): Promise<void>;
}

const SESSION_ROWS = 'select sid, subject, expires_at "expiresAt" from sessions order by sid';

function sqliteVisits(data: SqlitePoolData): VisitSql {
  const db = data.sqlite.sqlite;
  return {
    count: async (subject) =>
      subject === undefined
        ? (db.prepare('select count(*) n from visits').get() as { n: number }).n
        : (db.prepare('select count(*) n from visits where subject = ?').get(subject) as { n: number }).n,
    age: async (subject, ms) => void db.prepare('update visits set admitted_at = admitted_at - ? where subject = ?').run(ms, subject),
    sessions: async () => db.prepare(SESSION_ROWS).all() as SessionRow[],
    ageSessions: async (ms) => void db.prepare('update sessions set expires_at = expires_at - ?').run(ms),
    close: async () => {},
  };
}

function postgresVisits(url: string): VisitSql {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  // pool.end() does not wait for its connections to close, and the database's drop may end one first (see database.ts).
  pool.on('error', () => {});
  return {
    count: async (subject) => {
      const { rows } = subject === undefined ? await pool.query('select count(*)::int n from visits') : await pool.query('select count(*)::int n from visits where subject = $1', [subject]);
      return rows[0].n as number;
    },
    age: async (subject, ms) => void (await pool.query(`update visits set admitted_at = admitted_at - $1 * interval '1 millisecond' where subject = $2`, [ms, subject])),
    sessions: async () => (await pool.query(SESSION_ROWS)).rows.map((r) => ({ ...r, expiresAt: Number(r.expiresAt) })) as SessionRow[],
    ageSessions: async (ms) => void (await pool.query('update sessions set expires_at = expires_at - $1', [ms])),
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
  const pool = await createPoolApp({ config, database: data, logger, ...(options.clock ? { clock: options.clock } : {}) });
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
    sessionRows: () => visits.sessions(),
    ageSessions: (ms) => visits.ageSessions(ms),
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
  const { accessToken, member } = await signInWithKeycard(gym.url, who);
  return { accessToken, memberId: member.id };
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

/** One answer of the pool's website, as its visitor got it (no redirect followed). */
export interface PoolAnswer {
  status: number;
  location: string | undefined;
  setCookies: string[];
  html: string;
}

/**
 * A person at the pool's website over plain HTTP, for the tests that need no browser: the pool's cookies in a jar of
 * their own, the gym's sign-in and consent through a FormBrowser, redirects followed by hand. With `publicUrl`, each
 * request reaches the pool as a TLS-terminating proxy at that address forwards it (its Host, X-Forwarded-Proto).
 */
export class PoolVisitor {
  readonly cookies = new Map<string, string>();
  readonly gym: FormBrowser;
  readonly publicUrl: string;

  constructor(
    readonly pool: TestPool,
    gymUrl: string,
    options: { publicUrl?: string } = {},
  ) {
    this.gym = new FormBrowser(gymUrl);
    this.publicUrl = options.publicUrl ?? pool.url;
  }

  /** The `Cookie` header this visitor sends the pool. */
  get cookie(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** One request to the pool (a path, or a URL on its public address), posting `form` if given; its cookies kept. */
  async request(pathOrUrl: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<PoolAnswer> {
    const target = new URL(pathOrUrl, this.publicUrl);
    const proxied = target.origin !== new URL(this.pool.url).origin;
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const answer = await new Promise<PoolAnswer>((resolve, reject) => {
      const req = http.request(`${this.pool.url}${target.pathname}${target.search}`, {
        method: form ? 'POST' : 'GET',
        headers: {
          ...(this.cookies.size ? { cookie: this.cookie } : {}),
          ...(proxied ? { host: target.host, 'x-forwarded-proto': target.protocol.slice(0, -1) } : {}),
          ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', origin: target.origin } : {}),
          ...headers,
        },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        let html = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (html += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location, setCookies: res.headers['set-cookie'] ?? [], html }));
      });
      req.end(body);
    });
    for (const line of answer.setCookies) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (pair.slice(eq + 1) === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return answer;
  }

  /**
   * "Sign in with the gym" from the pool's /login to the callback, signing `who` in at the gym's page and allowing
   * the pool when asked. Returns the callback's answer (a redirect home when the pool let them in).
   */
  async signIn(who: DemoName): Promise<PoolAnswer> {
    const login = await this.request('/login');
    if (login.status !== 303 || !login.location) throw new Error(`/login answered ${login.status}: ${login.html.slice(0, 300)}`);
    return this.request(await this.callbackFromGym(login.location, who));
  }

  /** Takes an authorization URL through the gym's pages as `who`: the callback URL the gym sends the browser to. */
  async callbackFromGym(authorizationUrl: string, who: DemoName): Promise<string> {
    const page = await this.gym.signInAndConsent(authorizationUrl, who);
    if (page.url.startsWith(this.gym.origin)) throw new Error(`the gym kept the visitor (${page.status}): ${page.html.slice(0, 300)}`);
    return page.url;
  }

  /** The form token of the signed-in page. */
  async csrf(): Promise<string> {
    const page = await this.request('/');
    const token = /name="csrf" value="([^"]+)"/.exec(page.html)?.[1];
    if (!token) throw new Error(`not signed in: ${page.html.slice(0, 300)}`);
    return token;
  }
}
