import { afterAll, beforeAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createApp, type KeycardApp } from '../../src/app.js';
import { KeyRing, loadKeyRing } from '../../src/auth/keys.js';
import { loadConfig, type Config } from '../../src/config.js';
import { prepareData } from '../../src/seed.js';
import { logOptions } from '../../src/shared/logger.js';
import type { Engine } from '../../src/db/data.js';
import type { TestClock } from './clock.js';
import { openTestDatabase, type TestDatabase } from './database.js';

export interface TestApp {
  url: string;
  config: Config;
  /** The gym's database (the data layer it runs on, and plain SQL for the test to look in). */
  database: TestDatabase;
  keycard: KeycardApp;
  keyRing: KeyRing;
  keysDir: string;
  /** Every log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Every log line, raw, to search for leaked secrets. */
  rawLogs: () => string;
  /** SQL statements run since the last reset. */
  queries: string[];
  close(): Promise<void>;
}

export interface StartOptions {
  /** Environment variables on top of the test defaults. */
  env?: Record<string, string>;
  /** Seed the demo members (default true). */
  seed?: boolean;
  /** The engine of the fresh database (default: the run's). */
  engine?: Engine;
  /** Use this database instead of a fresh one of the run's engine (it is not closed by close()). */
  database?: TestDatabase;
  /** Use this key directory (kept after close) instead of a fresh temporary one with one key. */
  keysDir?: string;
  /** Listen on this port (PUBLIC_URL follows it), e.g. to restart a gym where its partners expect it. */
  port?: number;
  /** The clock the gym's timeouts, token expiry and chores run on, for a test to move forward (default: the machine's). */
  clock?: TestClock;
}

/** A port nothing listens on right now (the OS picks it), for a server that must know its own URL up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export const TEST_SESSION_SECRET = randomBytes(32).toString('hex');

/**
 * Starts the real Keycard app (real migrations, real Express, real Apollo) on a fresh database of the run's engine
 * (in-memory SQLite, or a PostgreSQL database of its own) and listens on port 0. Call close() after each file.
 */
export async function startTestApp(options: StartOptions = {}): Promise<TestApp> {
  const ownKeys = !options.keysDir;
  const keysDir = options.keysDir ?? mkdtempSync(path.join(tmpdir(), 'keycard-keys-'));
  const keyRing = loadKeyRing(keysDir, { createIfEmpty: true });
  const port = options.port ?? (await freePort());
  const queries: string[] = [];
  const database = options.database ?? (await openTestDatabase({ onQuery: (sql) => queries.push(sql), ...(options.engine ? { engine: options.engine } : {}) }));
  // Variables a user would not set, each for a reason; the gym as users run it, with none of these, is started by
  // test/shipped/.
  const config = loadConfig({
    // A key folder of this test's own: ./data/keys is the developer's.
    KEYS_DIR: keysDir,
    // A free port, so that files run side by side.
    PORT: String(port),
    // The issuer is the address the gym really answers on, as partners discover it.
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    // The test runner's own value, said out loud: Keycard treats it as development (only production changes a default).
    NODE_ENV: 'test',
    // A fresh database of the run's engine for each app (in-memory SQLite, or a PostgreSQL database of its own).
    DATABASE_URL: database.url,
    // Known to the tests, which sign cookies with it.
    SESSION_SECRET: TEST_SESSION_SECRET,
    // The tests read the log lines (what was logged, and that no secret was).
    LOG_LEVEL: 'info',
    ...options.env,
  });
  await prepareData(database.data, { seedDemo: options.seed ?? true, production: config.production });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = pino(logOptions(config.logLevel), sink);
  const keycard = await createApp({ config, database: database.data, keyRing, logger, ...(options.clock ? { clock: options.clock } : {}) });
  await new Promise<void>((resolve) => keycard.httpServer.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    database,
    keycard,
    keyRing,
    keysDir,
    get logs() {
      return lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    rawLogs: () => lines.join(''),
    queries,
    async close() {
      await keycard.close();
      if (!options.database) await database.close();
      if (ownKeys) rmSync(keysDir, { recursive: true, force: true });
    },
  };
}

/**
 * A gym started before the tests of the enclosing `describe` and closed after them, for a block with options of its
 * own (such as a clock to move): what it returns reads through to the started app.
 */
export function useTestApp(options: StartOptions = {}): TestApp {
  let started: TestApp | undefined;
  beforeAll(async () => {
    started = await startTestApp(options);
  });
  afterAll(() => started?.close());
  return new Proxy({} as TestApp, {
    get(_target, prop) {
      if (!started) throw new Error('the test app is started before the tests, not while they are collected');
      const value: unknown = Reflect.get(started, prop, started);
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}
