import { defineConfig } from 'drizzle-kit';

/** `npm run db:generate` writes a new migration for the gym's tables; main applies them at start. */
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema.ts',
  out: './drizzle/gym/sqlite',
});
