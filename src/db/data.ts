import type { AuthMethodName, RoleName } from '../shared/roles.js';
import type { CheckInRow, MemberRow, MembershipRow, MemberStatusName, OidcRecordRow, PlanCodeName, PlanRow, RefreshTokenRow } from './schema.js';
import type { QueueOptions } from '../shared/postgres.js';
import type pg from 'pg';
import type { SessionRows } from '../shared/session-store.js';

export type { CheckInRow, MemberRow, MembershipRow, OidcRecordRow, PlanRow, RefreshTokenRow };

export type Engine = 'sqlite' | 'postgres';

/** A member's standing, as every credential rule reads it. */
export type MemberStanding = Pick<MemberRow, 'role' | 'status' | 'tokenVersion'>;

export interface NewMember {
  email: string;
  name: string;
  passwordHash: string;
  role?: RoleName;
  createdAt: Date;
}

export interface NewCheckIn {
  memberId: number;
  at: Date;
  door: string | null;
  method: AuthMethodName;
}

export interface NewRefreshToken {
  tokenHash: string;
  familyId: string;
  familyHash: string;
  credentialVersion: number;
  memberId: number;
  parentId: number | null;
  issuedAt: Date;
  expiresAt: Date;
}

export interface SessionRecord {
  /** The SHA-256 of the session id, never the id. */
  key: string;
  memberId: number;
  /** express-session's data, as JSON. */
  data: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** A page of the access sheet, newest first: every member's, or one member's; before a check-in id, or from the top. */
export interface SheetPage {
  memberId: number | null;
  beforeId: number | null;
  limit: number;
}

/** A page of members by id, after `afterId`; `pattern` a LIKE pattern (escape `!`) matched against lower(name) and email. */
export interface MemberPage {
  afterId: number | null;
  pattern: string | null;
  limit: number;
}

/** The members. */
export interface MemberStatements {
  byIds(ids: readonly number[]): Promise<MemberRow[]>;
  byId(id: number): Promise<MemberRow | undefined>;
  /** By normalized email (matched case-insensitively, as the unique index is). */
  byEmail(email: string): Promise<MemberRow | undefined>;
  standing(id: number): Promise<MemberStanding | undefined>;
  list(page: MemberPage): Promise<MemberRow[]>;
  /** Whether there is any member at all. */
  any(): Promise<boolean>;
  /** The new member, or undefined when the email is taken (the unique index decides, also between processes). */
  insert(values: NewMember): Promise<MemberRow | undefined>;
  countActiveAdminsBesides(memberId: number): Promise<number>;
  update(id: number, set: { role?: RoleName; status?: MemberStatusName }): Promise<MemberRow | undefined>;
  /** Sets the password hash only while the member is active and still at `tokenVersion`. True when it did. */
  setPasswordIfCurrent(id: number, tokenVersion: number, passwordHash: string): Promise<boolean>;
  /** Adds one to the member's credential (token) version; the new version, or undefined when there is no member. */
  bumpCredentialVersion(id: number): Promise<number | undefined>;
}

/** The plans. */
export interface PlanStatements {
  /** Cheapest first. */
  all(): Promise<PlanRow[]>;
  byIds(ids: readonly number[]): Promise<PlanRow[]>;
  byCode(code: PlanCodeName): Promise<PlanRow | undefined>;
  /** Inserts the plans that are missing (by code). */
  ensure(plans: Omit<PlanRow, 'id'>[]): Promise<void>;
}

/** Who has which plan until when. */
export interface MembershipStatements {
  byMemberIds(ids: readonly number[]): Promise<MembershipRow[]>;
  /** Gives the member this plan until then, replacing what they had. */
  upsert(values: MembershipRow): Promise<MembershipRow>;
}

/** The access sheet. */
export interface CheckInStatements {
  byIds(ids: readonly number[]): Promise<CheckInRow[]>;
  sheet(page: SheetPage): Promise<CheckInRow[]>;
  /** Up to `limit` check-ins of each member (before `beforeId`), ordered by member, then newest first. */
  pages(memberIds: readonly number[], page: { limit: number; beforeId: number | null }): Promise<CheckInRow[]>;
  /** The member's newest check-in after `since`, if any. */
  lastSince(memberId: number, since: Date): Promise<CheckInRow | undefined>;
  insert(values: NewCheckIn): Promise<CheckInRow>;
  insertMany(rows: NewCheckIn[]): Promise<void>;
}

/** The access sheet's front desk: express-session's rows. */
export interface SessionStatements extends SessionRows {
  /** Stores a new session; a row already under that key is left alone. */
  insert(record: SessionRecord): Promise<void>;
  /** Writes activity over the row only if it is still there and still the member's. True when it was. */
  recordActivity(record: SessionRecord): Promise<boolean>;
  /** Ends every session of a member; how many there were. */
  deleteOf(memberId: number): Promise<number>;
}

/** Refresh tokens, in families. */
export interface RefreshStatements {
  byHash(tokenHash: string): Promise<RefreshTokenRow | undefined>;
  /** The member of a live token (unspent, unrevoked, unexpired). */
  liveMember(tokenHash: string, now: Date): Promise<number | undefined>;
  /** The family, not revoked, whose secret hashes to `familyHash`. */
  familyByHash(familyHash: string): Promise<string | undefined>;
  /** The family of a token on file, or of any token of a family known by its hash. */
  familyOfToken(tokenHash: string, familyHash: string | null): Promise<string | undefined>;
  /** The hash of a family's secret, from any of its rows that carries it (a family from before secrets has none). */
  familyHashOf(familyId: string): Promise<string | undefined>;
  child(parentId: number): Promise<RefreshTokenRow | undefined>;
  spend(id: number, at: Date): Promise<void>;
  /** Deletes the rows of a family older than `id` that carry the family hash (the chain keeps two). */
  pruneChain(familyId: string, id: number): Promise<void>;
  insert(values: NewRefreshToken): Promise<void>;
  /** Deletes a family (revocation), optionally only if it is `memberId`'s. */
  deleteFamily(familyId: string, memberId?: number): Promise<void>;
  rebindFamily(memberId: number, familyId: string, credentialVersion: number): Promise<void>;
  /** Deletes every family of a member but `exceptFamilyId`. How many rows went. */
  deleteFamiliesOf(memberId: number, exceptFamilyId?: string): Promise<number>;
  /** The member's live families, most recently used first, at most `limit`. */
  liveFamilies(memberId: number, now: Date, limit: number): Promise<string[]>;
  deleteFamiliesBut(memberId: number, keep: readonly string[]): Promise<void>;
  deleteDead(now: Date): Promise<void>;
}

/** The login throttle's failures, and the rate limits' counters. */
export interface ThrottleStatements {
  countFailures(by: 'email' | 'address', value: string, since: number): Promise<number>;
  /** The instant of the `n`-th newest failure (1-based) after `since`. */
  nthNewestFailureAt(by: 'email' | 'address', value: string, since: number, n: number): Promise<number | undefined>;
  insertFailure(values: { email: string; address: string; at: number }): Promise<number>;
  deleteFailure(id: number): Promise<void>;
  deleteFailuresOf(email: string): Promise<void>;
  deleteFailuresBefore(at: number): Promise<void>;
  /** Deletes up to `batch` expired rate-limit counters; how many went. */
  deleteExpiredRateLimits(now: Date, batch: number): Promise<number>;
}

/** The OpenID Provider's records (src/oidc/adapter.ts), each under the hash of its model and id. */
export interface OidcStatements {
  /** Stores a record, replacing the one under the same key. */
  upsert(record: OidcRecordRow): Promise<void>;
  byKey(key: string): Promise<OidcRecordRow | undefined>;
  byUid(model: string, uid: string): Promise<OidcRecordRow | undefined>;
  byUserCode(model: string, userCode: string): Promise<OidcRecordRow | undefined>;
  /** A member's records of one model (their grants, to find the one of a client again). */
  of(model: string, memberId: number): Promise<OidcRecordRow[]>;
  /**
   * Marks a record consumed, if nothing has yet: whether this call did. Two requests presenting one code or refresh
   * token at the same moment both read it unconsumed; only one of them gets `true` here.
   */
  consume(key: string, at: number): Promise<boolean>;
  /**
   * A grant's records of one model consumed at `since` or later: the refresh tokens rotated after one that is presented
   * again, to tell a retry of the newest token from the reuse of an older one. Few, however old the grant.
   */
  consumedSince(model: string, grantId: string, since: number): Promise<OidcRecordRow[]>;
  delete(key: string): Promise<void>;
  /**
   * Deletes every record of a grant: the grant's codes and tokens end with it. With `grantKey`, the Grant record itself
   * (which does not carry its own id as grant_id) goes in the same statement, so a grant is never left half revoked.
   */
  deleteGrant(grantId: string, grantKey?: string): Promise<void>;
  /** Deletes every record about a member (the provider's sessions, grants, codes and tokens). How many went. */
  deleteOf(memberId: number): Promise<number>;
  deleteExpired(now: number): Promise<void>;
}

/** Keycard's own secrets. */
export interface SecretStatements {
  insertIfAbsent(name: string, value: string, createdAt: Date): Promise<void>;
  get(name: string): Promise<string | undefined>;
}

/**
 * Every statement Keycard runs on the gym's database, grouped by what it is about, each one statement, written once
 * for both engines (`statements/`, with what the engines write differently in `dialect.ts`); the shared suite in
 * test/integration/gym-data.test.ts holds both engines to the same answers. Rules do not live here: they live in the
 * services and in their atomic steps ({@link GymData.atomically}).
 */
export interface GymQueries {
  readonly members: MemberStatements;
  readonly plans: PlanStatements;
  readonly memberships: MembershipStatements;
  readonly checkIns: CheckInStatements;
  readonly sessions: SessionStatements;
  readonly refresh: RefreshStatements;
  readonly throttle: ThrottleStatements;
  readonly oidc: OidcStatements;
  readonly secrets: SecretStatements;
}

/**
 * The gym's database, on one engine: its statements, its atomic steps, its health, and what rate-limiter-flexible and
 * the event bus need of it.
 */
export interface GymData extends GymQueries {
  readonly engine: Engine;
  /**
   * Runs an atomic step: all the statements it runs through `tx` see one state of the database and commit together,
   * or none do (the step throws). On SQLite, an immediate transaction (the write lock first), the connection the step's
   * alone until it ends: steps run one after another, and every other statement waits for the open one. So a step does
   * no slow work (no password hashing: its callers hash before), and never awaits anything but its statements. On
   * PostgreSQL, a serializable transaction, retried a bounded number of times when PostgreSQL reports it would not be,
   * after waiting its turn behind other steps on the same `queueOn` keys; so a step must be safe to run again. A step
   * never catches a failed statement and goes on (PostgreSQL would not commit it).
   */
  atomically<T>(step: (tx: GymQueries) => Promise<T>, options?: QueueOptions): Promise<T>;
  /** True while the database answers, within a bound. */
  healthy(): Promise<boolean>;
  /**
   * Where every process hears the others' events: PostgreSQL's pool and address (LISTEN/NOTIFY); null on SQLite, which
   * one process serves.
   */
  readonly notifications: { pool: pg.Pool; url: string } | null;
  /** rate-limiter-flexible's Drizzle store: the Drizzle client and the table, on this engine. */
  readonly rateLimitStore: { storeClient: unknown; schema: unknown };
  close(): Promise<void>;
}
