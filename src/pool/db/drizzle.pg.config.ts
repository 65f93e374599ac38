import { defineConfig } from 'drizzle-kit';

/** `npm run db:generate:pool` writes the pool's PostgreSQL migration beside its SQLite one. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/pool/db/pg-schema.ts',
  out: './drizzle/pool/pg',
});
