import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

export default defineConfig({
  root,
  resolve: {
    // graphql 16 ships CommonJS (what Node loads for Apollo and graphql-tools) and an .mjs copy (what Vite would pick
    // for our sources). Two copies refuse each other's types, so tests load the one Node loads in production.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file starts its own servers on port 0 over its own in-memory database; two cores run two files at a time.
    pool: 'forks',
  },
});
