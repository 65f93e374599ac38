import { defineConfig } from 'drizzle-kit';

/** `npm run db:generate:pool`: a new migration for the pool's own database. */
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/pool/db/schema.ts',
  out: './drizzle/pool/sqlite',
});
