import type { PubSub } from '../live/pubsub.js';
import type { AuthMethodName, RoleName } from '../shared/roles.js';
import type { CheckInRow, MemberRow, MembershipRow, MemberStatusName, OidcRecordRow, PlanCodeName, PlanRow, RefreshTokenRow } from './schema.js';
import type { QueueOptions } from '../shared/postgres.js';
import type { Script, Step } from '../shared/steps.js';

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

/**
 * Every statement Keycard runs on the gym's database, each one method, one statement: the narrow interface the two
 * engines implement (`sqlite-data.ts`, `pg-data.ts`) and the one shared test suite holds to the same answers. Rules do
 * not live here: they live in the services and in the atomic steps ({@link GymData.atomically}), written once.
 */
export interface GymQueries {
  // Members.
  membersByIds(ids: readonly number[]): Step<MemberRow[]>;
  memberById(id: number): Step<MemberRow | undefined>;
  /** By normalized email (matched case-insensitively, as the unique index is). */
  memberByEmail(email: string): Step<MemberRow | undefined>;
  memberStanding(id: number): Step<MemberStanding | undefined>;
  /**
   * Members by id, after `afterId`; `pattern` a LIKE pattern matched against lower(name) and email, its escape character
   * `!` (not a backslash, whose meaning in a PostgreSQL string depends on a server setting).
   */
  listMembers(page: { afterId: number | null; pattern: string | null; limit: number }): Step<MemberRow[]>;
  hasMembers(): Step<boolean>;
  /** The new member, or undefined when the email is taken (the unique index decides, also between processes). */
  insertMember(values: NewMember): Step<MemberRow | undefined>;
  countActiveAdminsBesides(memberId: number): Step<number>;
  updateMember(id: number, set: { role?: RoleName; status?: MemberStatusName }): Step<MemberRow | undefined>;
  /** Sets the password hash only while the member is active and still at `tokenVersion`. True when it did. */
  setPasswordIfCurrent(id: number, tokenVersion: number, passwordHash: string): Step<boolean>;
  /** Adds one to the member's credential (token) version; the new version, or undefined when there is no member. */
  bumpCredentialVersion(id: number): Step<number | undefined>;

  // Plans and memberships.
  allPlans(): Step<PlanRow[]>;
  plansByIds(ids: readonly number[]): Step<PlanRow[]>;
  planByCode(code: PlanCodeName): Step<PlanRow | undefined>;
  /** Inserts the plans that are missing (by code). */
  ensurePlans(plans: Omit<PlanRow, 'id'>[]): Step<void>;
  membershipsByMemberIds(ids: readonly number[]): Step<MembershipRow[]>;
  /** Gives the member this plan until then, replacing what they had. */
  upsertMembership(values: MembershipRow): Step<MembershipRow>;

  // The access sheet.
  checkInsByIds(ids: readonly number[]): Step<CheckInRow[]>;
  checkInSheet(page: SheetPage): Step<CheckInRow[]>;
  /** Up to `limit` check-ins of each member (before `beforeId`), ordered by member, then newest first. */
  checkInPages(memberIds: readonly number[], page: { limit: number; beforeId: number | null }): Step<CheckInRow[]>;
  /** The member's newest check-in after `since`, if any. */
  lastCheckInSince(memberId: number, since: Date): Step<CheckInRow | undefined>;
  insertCheckIn(values: NewCheckIn): Step<CheckInRow>;
  insertCheckIns(rows: NewCheckIn[]): Step<void>;

  // Sessions (the access sheet's front desk: express-session's rows).
  sessionByKey(key: string): Step<Pick<SessionRecord, 'data' | 'expiresAt'> | undefined>;
  /** Stores a new session; a row already under that key is left alone. */
  insertSession(record: SessionRecord): Step<void>;
  /** Writes activity over the row only if it is still there and still the member's. True when it was. */
  recordSessionActivity(record: SessionRecord): Step<boolean>;
  deleteSession(key: string): Step<void>;
  deleteSessionsOf(memberId: number): Step<number>;
  deleteExpiredSessions(now: number): Step<void>;

  // Refresh tokens.
  refreshByHash(tokenHash: string): Step<RefreshTokenRow | undefined>;
  /** The member of a live token (unspent, unrevoked, unexpired). */
  liveRefreshMember(tokenHash: string, now: Date): Step<number | undefined>;
  /** The family, not revoked, whose secret hashes to `familyHash`. */
  familyByHash(familyHash: string): Step<string | undefined>;
  /** The family of a token on file, or of any token of a family known by its hash. */
  familyOfToken(tokenHash: string, familyHash: string | null): Step<string | undefined>;
  /** The hash of a family's secret, from any of its rows that carries it (a family from before secrets has none). */
  familyHashOf(familyId: string): Step<string | undefined>;
  refreshChild(parentId: number): Step<RefreshTokenRow | undefined>;
  spendRefresh(id: number, at: Date): Step<void>;
  /** Deletes the rows of a family older than `id` that carry the family hash (the chain keeps two). */
  pruneChain(familyId: string, id: number): Step<void>;
  insertRefresh(values: NewRefreshToken): Step<void>;
  /** Deletes a family (revocation), optionally only if it is `memberId`'s. */
  deleteFamily(familyId: string, memberId?: number): Step<void>;
  rebindFamily(memberId: number, familyId: string, credentialVersion: number): Step<void>;
  /** Deletes every family of a member but `exceptFamilyId`. How many rows went. */
  deleteFamiliesOf(memberId: number, exceptFamilyId?: string): Step<number>;
  /** The member's live families, most recently used first, at most `limit`. */
  liveFamilies(memberId: number, now: Date, limit: number): Step<string[]>;
  deleteFamiliesBut(memberId: number, keep: readonly string[]): Step<void>;
  deleteDeadRefreshTokens(now: Date): Step<void>;

  // The login throttle's failures.
  countFailures(by: 'email' | 'address', value: string, since: number): Step<number>;
  /** The instant of the `n`-th newest failure (1-based) after `since`. */
  nthNewestFailureAt(by: 'email' | 'address', value: string, since: number, n: number): Step<number | undefined>;
  insertFailure(values: { email: string; address: string; at: number }): Step<number>;
  deleteFailure(id: number): Step<void>;
  deleteFailuresOf(email: string): Step<void>;
  deleteFailuresBefore(at: number): Step<void>;

  /** Deletes up to `batch` expired rate-limit counters; how many went. */
  deleteExpiredRateLimits(now: Date, batch: number): Step<number>;

  // The OpenID Provider's records (src/oidc/adapter.ts), each under the hash of its model and id.
  /** Stores a record, replacing the one under the same key. */
  upsertOidcRecord(record: OidcRecordRow): Step<void>;
  oidcRecord(key: string): Step<OidcRecordRow | undefined>;
  oidcRecordByUid(model: string, uid: string): Step<OidcRecordRow | undefined>;
  oidcRecordByUserCode(model: string, userCode: string): Step<OidcRecordRow | undefined>;
  /** A member's records of one model (their grants, to find the one of a client again). */
  oidcRecordsOf(model: string, memberId: number): Step<OidcRecordRow[]>;
  /**
   * Marks a record consumed, if nothing has yet: whether this call did. Two requests presenting one code or refresh
   * token at the same moment both read it unconsumed; only one of them gets `true` here.
   */
  consumeOidcRecord(key: string, at: number): Step<boolean>;
  /**
   * A grant's records of one model consumed at `since` or later: the refresh tokens rotated after one that is presented
   * again, to tell a retry of the newest token from the reuse of an older one. Few, however old the grant.
   */
  oidcRecordsConsumedSince(model: string, grantId: string, since: number): Step<OidcRecordRow[]>;
  deleteOidcRecord(key: string): Step<void>;
  /**
   * Deletes every record of a grant: the grant's codes and tokens end with it. With `grantKey`, the Grant record itself
   * (which does not carry its own id as grant_id) goes in the same statement, so a grant is never left half revoked.
   */
  deleteOidcGrant(grantId: string, grantKey?: string): Step<void>;
  /** Deletes every record about a member (the provider's sessions, grants, codes and tokens). How many went. */
  deleteOidcRecordsOf(memberId: number): Step<number>;
  deleteExpiredOidcRecords(now: number): Step<void>;

  // Keycard's own secrets.
  insertSecretIfAbsent(name: string, value: string, createdAt: Date): Step<void>;
  secret(name: string): Step<string | undefined>;
}

/**
 * The gym's database, on one engine: its statements, its atomic steps, its health, and what rate-limiter-flexible
 * needs to count in it.
 */
export interface GymData extends GymQueries {
  readonly engine: Engine;
  /**
   * Runs an atomic step: all its statements see one state of the database and commit together, or none do. On SQLite,
   * an immediate transaction (the write lock first: steps run one after another, also between processes); on
   * PostgreSQL, a serializable one, retried a bounded number of times when PostgreSQL reports it would not be, after
   * waiting its turn behind other steps on the same `queueOn` keys (SQLite needs no keys: its steps never overlap).
   */
  atomically<T>(script: (q: GymQueries) => Script<T>, options?: QueueOptions): Step<T>;
  /** True while the database answers, within a bound. */
  healthy(): Promise<boolean>;
  /**
   * The pub/sub that goes with this database: in-process on SQLite (which one process serves), LISTEN/NOTIFY on
   * PostgreSQL (which every process hears). The caller closes it before the database.
   */
  openPubSub(log: { warn: (obj: object, msg: string) => void }): Promise<PubSub>;
  /** rate-limiter-flexible's Drizzle store: the Drizzle client and the table, on this engine. */
  readonly rateLimitStore: { storeClient: unknown; schema: unknown };
  close(): Promise<void>;
}
