import { HOW_TO_RUN_PG, TEST_DATABASE_URL } from './helpers/pg.js';

/** Says once, up front, whether the PostgreSQL tests run, and how to run them when they do not. */
export default function setup(): void {
  if (TEST_DATABASE_URL) console.log(`PostgreSQL tests: on, against ${new URL(TEST_DATABASE_URL).host}`);
  else console.log(`PostgreSQL tests: skipped (TEST_DATABASE_URL is not set); run them with ${HOW_TO_RUN_PG}`);
}
