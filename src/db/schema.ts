import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { AUTH_METHODS, ROLES } from '../shared/roles.js';

/** Timestamps are stored as milliseconds since the epoch: sortable, exact, and cheap to compare in SQL. */
const timestamp = (name: string) => integer(name, { mode: 'timestamp_ms' });

export const plans = sqliteTable('plans', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  code: text('code', { enum: ['BASIC', 'ALL_HOURS'] }).notNull().unique(),
  name: text('name').notNull(),
  allHours: integer('all_hours', { mode: 'boolean' }).notNull(),
  monthlyPriceCents: integer('monthly_price_cents').notNull(),
});

export const members = sqliteTable(
  'members',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** Stored normalized (trimmed, lower case); the unique index on lower() keeps it case-insensitive regardless. */
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: ROLES })
      .notNull()
      .default('MEMBER'),
    status: text('status', { enum: ['ACTIVE', 'SUSPENDED'] })
      .notNull()
      .default('ACTIVE'),
    createdAt: timestamp('created_at').notNull(),
    /**
     * Bumped by logoutEverywhere, a password change and a suspension. Access tokens carry the version they were
     * issued under (claim `ver`); in strict revocation mode a token of an older version is refused at once. A counter
     * rather than a timestamp, so a token issued in the same second as a revocation is judged exactly.
     */
    tokenVersion: integer('token_version').notNull().default(0),
  },
  (t) => [uniqueIndex('members_email_lower_unique').on(sql`lower(${t.email})`)],
);

export const memberships = sqliteTable('memberships', {
  memberId: integer('member_id')
    .primaryKey()
    .references(() => members.id, { onDelete: 'cascade' }),
  planId: integer('plan_id')
    .notNull()
    .references(() => plans.id),
  validUntil: timestamp('valid_until').notNull(),
  updatedAt: timestamp('updated_at').notNull(),
});

export const checkIns = sqliteTable(
  'check_ins',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    memberId: integer('member_id')
      .notNull()
      .references(() => members.id, { onDelete: 'cascade' }),
    at: timestamp('at').notNull(),
    door: text('door'),
    method: text('method', { enum: AUTH_METHODS }).notNull(),
  },
  (t) => [index('check_ins_member_id_idx').on(t.memberId, t.id)],
);

/** The front desk's access sheet: one row per live session, owned by express-session through our store. */
export const sessions = sqliteTable(
  'sessions',
  {
    /**
     * The SHA-256 of the session id, never the id itself: like refresh tokens, a copy of the database (a backup, a
     * stolen file) holds nothing a browser could present.
     */
    sid: text('sid').primaryKey(),
    /** Copied out of the session data so that every session of a member can be ended in one statement. */
    memberId: integer('member_id').references(() => members.id, { onDelete: 'cascade' }),
    data: text('data').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('sessions_expires_at_idx').on(t.expiresAt), index('sessions_member_id_idx').on(t.memberId)],
);

/** Login attempts that have not (yet) succeeded, counted per email and per client address for throttling. */
export const loginFailures = sqliteTable(
  'login_failures',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    email: text('email').notNull(),
    address: text('address').notNull(),
    at: integer('at').notNull(),
  },
  (t) => [index('login_failures_email_at_idx').on(t.email, t.at), index('login_failures_address_at_idx').on(t.address, t.at)],
);

/**
 * Refresh tokens, stored only as SHA-256 hashes. Each login starts a family; every refresh spends one token and adds
 * its child to the family. Presenting a spent token again revokes the whole family.
 */
export const refreshTokens = sqliteTable(
  'refresh_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    tokenHash: text('token_hash').notNull().unique(),
    familyId: text('family_id').notNull(),
    /**
     * SHA-256 of the family's secret, which every refresh token of the family carries in front of its own random part.
     * Only the newest token of a chain and its parent are kept as rows; a token older than that is still recognised
     * as its family's by this hash, so reusing any spent token revokes the family, however long the chain.
     */
    familyHash: text('family_hash'),
    memberId: integer('member_id')
      .notNull()
      .references(() => members.id, { onDelete: 'cascade' }),
    parentId: integer('parent_id'),
    issuedAt: timestamp('issued_at').notNull(),
    expiresAt: timestamp('expires_at').notNull(),
    spentAt: timestamp('spent_at'),
    /** Written only by earlier versions: a revoked family is now deleted (the sweep clears what they left). */
    revokedAt: timestamp('revoked_at'),
    /**
     * The member's token version when the family began. A family older than the member's current version (a password
     * change, logout everywhere or a suspension came after it) is refused at refresh: a login that overlapped a
     * password change cannot outlive it.
     */
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

/**
 * Fixed-window counters for the rate limits that are not the login throttle (sign-ups per address, refreshes, logins
 * and check-ins per member, current-password checks). In the database, so limits hold across restarts and processes.
 * The columns are the ones rate-limiter-flexible's Drizzle store reads and writes.
 */
export const rateLimits = sqliteTable(
  'rate_limits',
  {
    key: text('key').primaryKey(),
    points: integer('points').notNull().default(0),
    expire: timestamp('expire'),
  },
  (t) => [index('rate_limits_expire_idx').on(t.expire)],
);

/**
 * Secrets Keycard makes for itself on first start and must keep stable across restarts and instances (the key that
 * derives partners' pairwise subjects). In the database rather than a file so every instance shares them.
 */
export const appSecrets = sqliteTable('app_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: timestamp('created_at').notNull(),
});

/**
 * What the gym's OpenID Provider keeps (oidc-provider's models: its sessions, interactions, grants, authorization
 * codes, access and refresh tokens for partners), through the adapter in src/oidc/adapter.ts. Each row is keyed by
 * the SHA-256 of its model and id, never the id itself, and the payload is stored without the id: like Keycard's own
 * refresh tokens and sessions, a copy of the database holds no code or token a client could present.
 */
export const oidcRecords = sqliteTable(
  'oidc_records',
  {
    key: text('key').primaryKey(),
    model: text('model').notNull(),
    /** The record as oidc-provider gave it, as JSON, without the id it is found by. */
    payload: text('payload').notNull(),
    /** The member it is about (its accountId), so that ending a member's credentials ends these in one statement. */
    memberId: integer('member_id').references(() => members.id, { onDelete: 'cascade' }),
    grantId: text('grant_id'),
    uid: text('uid'),
    userCode: text('user_code'),
    /** Milliseconds since the epoch; null for a record that does not expire by itself. */
    expiresAt: integer('expires_at'),
    consumedAt: integer('consumed_at'),
  },
  (t) => [
    index('oidc_records_grant_id_idx').on(t.grantId),
    index('oidc_records_uid_idx').on(t.uid),
    index('oidc_records_member_id_idx').on(t.memberId),
    index('oidc_records_expires_at_idx').on(t.expiresAt),
  ],
);

export type PlanRow = typeof plans.$inferSelect;
export type MemberRow = typeof members.$inferSelect;
export type MembershipRow = typeof memberships.$inferSelect;
export type CheckInRow = typeof checkIns.$inferSelect;
export type MemberStatusName = MemberRow['status'];
export type PlanCodeName = PlanRow['code'];
export type RefreshTokenRow = typeof refreshTokens.$inferSelect;
export type OidcRecordRow = typeof oidcRecords.$inferSelect;
