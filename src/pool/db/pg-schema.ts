import { bigint, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** The pool's visits on PostgreSQL: the same table as `schema.ts` (SQLite), in PostgreSQL's types. */
export const visits = pgTable(
  'visits',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    subject: text('subject').notNull(),
    name: text('name').notNull(),
    admittedAt: timestamp('admitted_at', { withTimezone: true, precision: 3, mode: 'date' }).notNull(),
    tokenId: text('token_id'),
  },
  (t) => [index('visits_subject_idx').on(t.subject, t.id)],
);

/** The website's sessions: the same table as `schema.ts` (SQLite); the deadline in milliseconds, as there. */
export const sessions = pgTable(
  'sessions',
  {
    sid: text('sid').primaryKey(),
    subject: text('subject'),
    data: text('data').notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('sessions_expires_at_idx').on(t.expiresAt), index('sessions_subject_idx').on(t.subject)],
);
