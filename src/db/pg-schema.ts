import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { AUTH_METHODS, ROLES } from '../shared/roles.js';

/**
 * The gym's tables on PostgreSQL: the same tables, columns, indexes and TypeScript row types as `schema.ts` (SQLite),
 * in PostgreSQL's own types. Instants are `timestamptz` with millisecond precision (SQLite keeps milliseconds since the
 * epoch); the columns that hold plain milliseconds there (session deadlines, throttle instants) are `bigint` here. A
 * test checks that the two definitions name the same columns, so neither engine drifts from the other.
 */
const timestamp_ms = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });
const millis = (name: string) => bigint(name, { mode: 'number' });

export const plans = pgTable('plans', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  code: text('code', { enum: ['BASIC', 'ALL_HOURS'] }).notNull().unique(),
  name: text('name').notNull(),
  allHours: boolean('all_hours').notNull(),
  monthlyPriceCents: integer('monthly_price_cents').notNull(),
});

export const members = pgTable(
  'members',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: ROLES }).notNull().default('MEMBER'),
    status: text('status', { enum: ['ACTIVE', 'SUSPENDED'] })
      .notNull()
      .default('ACTIVE'),
    createdAt: timestamp_ms('created_at').notNull(),
    tokenVersion: integer('token_version').notNull().default(0),
  },
  (t) => [uniqueIndex('members_email_lower_unique').on(sql`lower(${t.email})`)],
);

export const memberships = pgTable('memberships', {
  memberId: integer('member_id')
    .primaryKey()
    .references(() => members.id, { onDelete: 'cascade' }),
  planId: integer('plan_id')
    .notNull()
    .references(() => plans.id),
  validUntil: timestamp_ms('valid_until').notNull(),
  updatedAt: timestamp_ms('updated_at').notNull(),
});

export const checkIns = pgTable(
  'check_ins',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    memberId: integer('member_id')
      .notNull()
      .references(() => members.id, { onDelete: 'cascade' }),
    at: timestamp_ms('at').notNull(),
    door: text('door'),
    method: text('method', { enum: AUTH_METHODS }).notNull(),
  },
  (t) => [index('check_ins_member_id_idx').on(t.memberId, t.id)],
);

export const sessions = pgTable(
  'sessions',
  {
    sid: text('sid').primaryKey(),
    memberId: integer('member_id').references(() => members.id, { onDelete: 'cascade' }),
    data: text('data').notNull(),
    expiresAt: millis('expires_at').notNull(),
  },
  (t) => [index('sessions_expires_at_idx').on(t.expiresAt), index('sessions_member_id_idx').on(t.memberId)],
);

export const loginFailures = pgTable(
  'login_failures',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    email: text('email').notNull(),
    address: text('address').notNull(),
    at: millis('at').notNull(),
  },
  (t) => [index('login_failures_email_at_idx').on(t.email, t.at), index('login_failures_address_at_idx').on(t.address, t.at)],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    tokenHash: text('token_hash').notNull().unique(),
    familyId: text('family_id').notNull(),
    familyHash: text('family_hash'),
    memberId: integer('member_id')
      .notNull()
      .references(() => members.id, { onDelete: 'cascade' }),
    parentId: integer('parent_id'),
    issuedAt: timestamp_ms('issued_at').notNull(),
    expiresAt: timestamp_ms('expires_at').notNull(),
    spentAt: timestamp_ms('spent_at'),
    revokedAt: timestamp_ms('revoked_at'),
    credentialVersion: integer('credential_version').notNull().default(0),
  },
  (t) => [
    index('refresh_tokens_family_idx').on(t.familyId),
    index('refresh_tokens_family_hash_idx').on(t.familyHash),
    index('refresh_tokens_member_idx').on(t.memberId),
    index('refresh_tokens_parent_idx').on(t.parentId),
    index('refresh_tokens_expires_idx').on(t.expiresAt),
  ],
);

export const rateLimits = pgTable(
  'rate_limits',
  {
    key: text('key').primaryKey(),
    points: integer('points').notNull().default(0),
    expire: timestamp_ms('expire'),
  },
  (t) => [index('rate_limits_expire_idx').on(t.expire)],
);

export const appSecrets = pgTable('app_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: timestamp_ms('created_at').notNull(),
});

/** See schema.ts: the OpenID Provider's records, keyed by a hash, never by the code or token itself. */
export const oidcRecords = pgTable(
  'oidc_records',
  {
    key: text('key').primaryKey(),
    model: text('model').notNull(),
    payload: text('payload').notNull(),
    memberId: integer('member_id').references(() => members.id, { onDelete: 'cascade' }),
    grantId: text('grant_id'),
    uid: text('uid'),
    userCode: text('user_code'),
    expiresAt: millis('expires_at'),
    consumedAt: millis('consumed_at'),
  },
  (t) => [
    index('oidc_records_grant_id_idx').on(t.grantId),
    index('oidc_records_uid_idx').on(t.uid),
    index('oidc_records_member_id_idx').on(t.memberId),
    index('oidc_records_expires_at_idx').on(t.expiresAt),
  ],
);
