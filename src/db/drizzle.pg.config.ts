import { defineConfig } from 'drizzle-kit';

/** `npm run db:generate` writes the PostgreSQL migration beside the SQLite one, from the same tables in `pg-schema.ts`. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/pg-schema.ts',
  out: './drizzle/gym/pg',
});
