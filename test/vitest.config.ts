import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim();

/**
 * Integration files that do not run again on PostgreSQL: each already covers the engines it is about (the data layer's
 * shared suite runs both; the migrations, the copy and the cluster tests are PostgreSQL's own), or reads SQLite itself
 * (the fuzzer's "nothing changed" fingerprint), or starts real servers on SQLite files (startup).
 */
/** The tests that run in headless Chromium. */
const BROWSER = ['test/browser/**/*.test.ts', 'test/clients/apollo-cookie.test.ts'];

const ENGINE_SPECIFIC = ['gym-data', 'pg-migrations', 'db-copy', 'fuzz', 'startup', 'processes'].map((name) => `test/integration/${name}.test.ts`);

export default defineConfig({
  root,
  resolve: {
    // graphql 16 ships CommonJS (what Node loads for Apollo and graphql-tools) and an .mjs copy (what Vite would pick
    // for our sources). Two copies refuse each other's types, so tests load the one Node loads in production.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file starts its own servers on port 0 over its own database. Much of a file's time is spent waiting (on
    // timeouts it tests, on real processes starting, on PostgreSQL), so three files run at a time on two cores.
    pool: 'forks',
    // A worker loads the app's modules (Apollo, oidc-provider, drizzle, ...) once for all the files it runs, instead of
    // once per file: that loading was over a quarter of the run. Nothing a file relies on lives at module level (each
    // starts its own app, database and keys), and each project has its own workers, so a file on PostgreSQL never
    // shares modules with one on SQLite.
    isolate: false,
    maxWorkers: 3,
    projects: [
      // Everything, the gym on SQLite (in memory): what `npm test` needs nothing else for.
      // It alone says whether the PostgreSQL run is on, so the line is printed once.
      {
        extends: true,
        test: { name: 'sqlite', include: ['test/**/*.test.ts'], exclude: [...BROWSER, 'test/shipped/**'], globalSetup: ['test/global-setup.ts'] },
      },
      // The files that drive Chromium, after the others: a browser's processes would otherwise take the two cores from
      // the tests that measure time (the fuzzer's event-loop watch, real processes starting, timeouts).
      { extends: true, test: { name: 'browser', include: BROWSER, sequence: { groupOrder: 1 } } },
      // The built gym and pool, started as `npm start` and `npm run pool` start them, driven in Chromium: what a user
      // runs, on the defaults and with the README's production configuration (one file, built once, beside the others).
      { extends: true, test: { name: 'shipped', include: ['test/shipped/**/*.test.ts'], sequence: { groupOrder: 1 } } },
      // The integration suite again, every gym on a PostgreSQL database of its own, when TEST_DATABASE_URL names a server.
      ...(TEST_DATABASE_URL
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: ['test/integration/**/*.test.ts'],
                exclude: ENGINE_SPECIFIC,
                env: { KEYCARD_TEST_ENGINE: 'postgres' },
              },
            },
          ]
        : []),
    ],
  },
});
