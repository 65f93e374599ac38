import type { PubSub } from '../live/pubsub.js';
import { PostgresPubSub } from '../live/pg-pubsub.js';
import { and, asc, count, desc, eq, gt, gte, ilike, inArray, isNotNull, isNull, lt, lte, ne, notInArray, or, sql, type Column, type SQL } from 'drizzle-orm';
import type { NodePgQueryResultHKT } from 'drizzle-orm/node-postgres';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import { GYM_PG_MIGRATIONS_DIR } from '../shared/paths.js';
import { openPostgres, postgresHealth, serializable, type PostgresDatabase, type QueueOptions } from '../shared/postgres.js';
import type { GymData, GymQueries, NewCheckIn, NewMember, NewRefreshToken, OidcRecordRow, SessionRecord, SheetPage } from './data.js';
import * as pgSchema from './pg-schema.js';
import { appSecrets, checkIns, loginFailures, members, memberships, oidcRecords, plans, rateLimits, refreshTokens, sessions } from './pg-schema.js';
import type { MembershipRow, PlanCodeName, PlanRow } from './schema.js';
import { runAsync, type Script } from '../shared/steps.js';

/** A grant's records: those issued under it, and with `grantKey` the Grant record itself. */
function grantRecords(grantId: string, grantKey?: string) {
  return grantKey ? or(eq(oidcRecords.grantId, grantId), eq(oidcRecords.key, grantKey)) : eq(oidcRecords.grantId, grantId);
}

type Schema = typeof pgSchema;
/** The pool's database, or a transaction on one of its connections: the statements read the same on both. */
type Db = PgDatabase<NodePgQueryResultHKT, Schema>;

/**
 * `column = any($n)`: a list of ids bound as one array parameter, so that a single prepared statement serves a batch
 * of any size (DataLoader batches vary from one key to a page of fifty), as `json_each` does on SQLite.
 */
const anyOf = (column: Column, name: string): SQL => sql`${column} = any(${sql.placeholder(name)}::integer[])`;
const ids = (values: readonly number[]) => ({ ids: [...values] });

const first = <T>(rows: T[]): T | undefined => rows[0];

function failuresBy(by: 'email' | 'address', value: string, since: number): SQL | undefined {
  return and(eq(by === 'email' ? loginFailures.email : loginFailures.address, value), gt(loginFailures.at, since));
}

/**
 * The statements every request runs (authentication, `me`, the access sheet and its relations), written once with
 * placeholders. On the pool they are prepared under their names: PostgreSQL parses and plans each once per connection
 * instead of on every call. Inside a transaction they run unnamed, on the transaction's connection.
 */
const HOT = {
  membersByIds: (db: Db) => db.select().from(members).where(anyOf(members.id, 'ids')).orderBy(asc(members.id)),
  memberById: (db: Db) => db.select().from(members).where(eq(members.id, sql.placeholder('id'))),
  membershipsByMemberIds: (db: Db) => db.select().from(memberships).where(anyOf(memberships.memberId, 'ids')).orderBy(asc(memberships.memberId)),
  plansByIds: (db: Db) => db.select().from(plans).where(anyOf(plans.id, 'ids')).orderBy(asc(plans.id)),
  allPlans: (db: Db) => db.select().from(plans).orderBy(asc(plans.monthlyPriceCents), asc(plans.id)),
  checkInsByIds: (db: Db) => db.select().from(checkIns).where(anyOf(checkIns.id, 'ids')).orderBy(asc(checkIns.id)),
  /** The access sheet, newest first: one statement per shape of filter, so that each keeps its own plan. */
  sheet: (db: Db, filters: { member: boolean; cursor: boolean }) =>
    db
      .select()
      .from(checkIns)
      .where(
        and(
          filters.member ? eq(checkIns.memberId, sql.placeholder('memberId')) : undefined,
          filters.cursor ? lt(checkIns.id, sql.placeholder('beforeId')) : undefined,
        ),
      )
      .orderBy(desc(checkIns.id))
      .limit(sql.placeholder('limit')),
  sessionByKey: (db: Db) =>
    db.select({ data: sessions.data, expiresAt: sessions.expiresAt }).from(sessions).where(eq(sessions.sid, sql.placeholder('key'))),
  sessionActivity: (db: Db) =>
    db
      .update(sessions)
      .set({ data: sql`${sql.placeholder('data')}`, expiresAt: sql`${sql.placeholder('expiresAt')}` })
      .where(and(eq(sessions.sid, sql.placeholder('key')), eq(sessions.memberId, sql.placeholder('memberId')))),
};

const SHEETS = {
  all: { member: false, cursor: false },
  after: { member: false, cursor: true },
  member: { member: true, cursor: false },
  memberAfter: { member: true, cursor: true },
} as const;

/** The hot statements prepared on the pool, each under its own name (a name stands for one SQL text per connection). */
function prepareHot(db: Db) {
  return {
    membersByIds: HOT.membersByIds(db).prepare('keycard_members_by_ids'),
    memberById: HOT.memberById(db).prepare('keycard_member_by_id'),
    membershipsByMemberIds: HOT.membershipsByMemberIds(db).prepare('keycard_memberships_by_member_ids'),
    plansByIds: HOT.plansByIds(db).prepare('keycard_plans_by_ids'),
    allPlans: HOT.allPlans(db).prepare('keycard_all_plans'),
    checkInsByIds: HOT.checkInsByIds(db).prepare('keycard_check_ins_by_ids'),
    sheet: {
      all: HOT.sheet(db, SHEETS.all).prepare('keycard_sheet'),
      after: HOT.sheet(db, SHEETS.after).prepare('keycard_sheet_after'),
      member: HOT.sheet(db, SHEETS.member).prepare('keycard_sheet_member'),
      memberAfter: HOT.sheet(db, SHEETS.memberAfter).prepare('keycard_sheet_member_after'),
    },
    sessionByKey: HOT.sessionByKey(db).prepare('keycard_session_by_key'),
    sessionActivity: HOT.sessionActivity(db).prepare('keycard_session_activity'),
  };
}

/**
 * The gym's statements on PostgreSQL (node-postgres): every answer a promise. Each answers as its SQLite twin in
 * `sqlite-data.ts` does (the shared suite in test/integration/gym-data.test.ts holds them to it): the same rows in the
 * same order, undefined for no row, counts as numbers. Where SQLite picks "some row" without an order, so does this.
 */
export class PgQueries implements GymQueries {
  /** Named prepared statements, on the pool only: a transaction runs the same statements unnamed on its connection. */
  private readonly hot: ReturnType<typeof prepareHot> | null;

  constructor(
    protected readonly db: Db,
    options: { prepared?: boolean } = {},
  ) {
    this.hot = options.prepared ? prepareHot(db) : null;
  }

  membersByIds(list: readonly number[]) {
    return (this.hot?.membersByIds ?? HOT.membersByIds(this.db)).execute(ids(list));
  }
  async memberById(id: number) {
    return first(await (this.hot?.memberById ?? HOT.memberById(this.db)).execute({ id }));
  }
  async memberByEmail(email: string) {
    return first(await this.db.select().from(members).where(eq(sql`lower(${members.email})`, email)).limit(1));
  }
  async memberStanding(id: number) {
    return first(await this.db.select({ role: members.role, status: members.status, tokenVersion: members.tokenVersion }).from(members).where(eq(members.id, id)));
  }
  listMembers(page: { afterId: number | null; pattern: string | null; limit: number }) {
    const { afterId, pattern, limit } = page;
    // SQLite's LIKE ignores (ASCII) case; ILIKE keeps the answer the same for a pattern with capitals in it.
    const matches = (value: SQL | Column) => ilike(value, sql`${pattern} escape '!'`);
    return this.db
      .select()
      .from(members)
      .where(
        and(
          afterId === null ? undefined : gt(members.id, afterId),
          pattern === null ? undefined : or(matches(sql`lower(${members.name})`), matches(members.email)),
        ),
      )
      .orderBy(asc(members.id))
      .limit(limit);
  }
  async hasMembers() {
    return (await this.db.select({ id: members.id }).from(members).limit(1)).length > 0;
  }
  async insertMember(values: NewMember) {
    // No conflict target: the unique index is on lower(email), and whichever unique index refuses the row, no row it is.
    return first(await this.db.insert(members).values(values).onConflictDoNothing().returning());
  }
  async countActiveAdminsBesides(memberId: number) {
    const [row] = await this.db
      .select({ n: count() })
      .from(members)
      .where(and(eq(members.role, 'ADMIN'), eq(members.status, 'ACTIVE'), ne(members.id, memberId)));
    return row?.n ?? 0;
  }
  async updateMember(id: number, set: Parameters<GymQueries['updateMember']>[1]) {
    return first(await this.db.update(members).set(set).where(eq(members.id, id)).returning());
  }
  async setPasswordIfCurrent(id: number, tokenVersion: number, passwordHash: string) {
    const where = and(eq(members.id, id), eq(members.tokenVersion, tokenVersion), eq(members.status, 'ACTIVE'));
    return (await this.db.update(members).set({ passwordHash }).where(where)).rowCount === 1;
  }
  async bumpCredentialVersion(id: number) {
    const rows = await this.db
      .update(members)
      .set({ tokenVersion: sql`${members.tokenVersion} + 1` })
      .where(eq(members.id, id))
      .returning({ version: members.tokenVersion });
    return rows[0]?.version;
  }

  allPlans() {
    return (this.hot?.allPlans ?? HOT.allPlans(this.db)).execute();
  }
  plansByIds(list: readonly number[]) {
    return (this.hot?.plansByIds ?? HOT.plansByIds(this.db)).execute(ids(list));
  }
  async planByCode(code: PlanCodeName) {
    return first(await this.db.select().from(plans).where(eq(plans.code, code)));
  }
  async ensurePlans(rows: Omit<PlanRow, 'id'>[]) {
    await this.db.insert(plans).values(rows).onConflictDoNothing({ target: plans.code });
  }
  membershipsByMemberIds(list: readonly number[]) {
    return (this.hot?.membershipsByMemberIds ?? HOT.membershipsByMemberIds(this.db)).execute(ids(list));
  }
  async upsertMembership(values: MembershipRow) {
    const { planId, validUntil, updatedAt } = values;
    const [row] = await this.db
      .insert(memberships)
      .values(values)
      .onConflictDoUpdate({ target: memberships.memberId, set: { planId, validUntil, updatedAt } })
      .returning();
    return row!;
  }

  checkInsByIds(list: readonly number[]) {
    return (this.hot?.checkInsByIds ?? HOT.checkInsByIds(this.db)).execute(ids(list));
  }
  checkInSheet({ memberId, beforeId, limit }: SheetPage) {
    const shape = memberId === null ? (beforeId === null ? 'all' : 'after') : beforeId === null ? 'member' : 'memberAfter';
    const statement = this.hot?.sheet[shape] ?? HOT.sheet(this.db, SHEETS[shape]);
    return statement.execute({ limit, memberId, beforeId });
  }
  checkInPages(memberIds: readonly number[], { limit, beforeId }: { limit: number; beforeId: number | null }) {
    const ranked = this.db
      .select({
        id: checkIns.id,
        memberId: checkIns.memberId,
        at: checkIns.at,
        door: checkIns.door,
        method: checkIns.method,
        rank: sql<number>`row_number() over (partition by ${checkIns.memberId} order by ${checkIns.id} desc)`.as('rank'),
      })
      .from(checkIns)
      .where(and(sql`${checkIns.memberId} = any(${sql.param([...memberIds])}::integer[])`, beforeId === null ? undefined : lt(checkIns.id, beforeId)))
      .as('ranked');
    return this.db
      .select({ id: ranked.id, memberId: ranked.memberId, at: ranked.at, door: ranked.door, method: ranked.method })
      .from(ranked)
      .where(sql`${ranked.rank} <= ${limit}`)
      .orderBy(ranked.memberId, desc(ranked.id));
  }
  async lastCheckInSince(memberId: number, since: Date) {
    return first(
      await this.db
        .select()
        .from(checkIns)
        .where(and(eq(checkIns.memberId, memberId), gt(checkIns.at, since)))
        .orderBy(desc(checkIns.id))
        .limit(1),
    );
  }
  async insertCheckIn(values: NewCheckIn) {
    const [row] = await this.db.insert(checkIns).values(values).returning();
    return row!;
  }
  async insertCheckIns(rows: NewCheckIn[]) {
    if (rows.length > 0) await this.db.insert(checkIns).values(rows);
  }

  async sessionByKey(key: string) {
    return first(await (this.hot?.sessionByKey ?? HOT.sessionByKey(this.db)).execute({ key }));
  }
  async insertSession({ key, memberId, data, expiresAt }: SessionRecord) {
    await this.db.insert(sessions).values({ sid: key, memberId, data, expiresAt }).onConflictDoNothing({ target: sessions.sid });
  }
  async recordSessionActivity(record: SessionRecord) {
    return (await (this.hot?.sessionActivity ?? HOT.sessionActivity(this.db)).execute({ ...record })).rowCount === 1;
  }
  async deleteSession(key: string) {
    await this.db.delete(sessions).where(eq(sessions.sid, key));
  }
  async deleteSessionsOf(memberId: number) {
    return (await this.db.delete(sessions).where(eq(sessions.memberId, memberId))).rowCount ?? 0;
  }
  async deleteExpiredSessions(now: number) {
    await this.db.delete(sessions).where(lte(sessions.expiresAt, now));
  }

  async upsertOidcRecord(record: OidcRecordRow) {
    const { key, ...rest } = record;
    await this.db.insert(oidcRecords).values(record).onConflictDoUpdate({ target: oidcRecords.key, set: rest });
  }
  async oidcRecord(key: string) {
    return first(await this.db.select().from(oidcRecords).where(eq(oidcRecords.key, key)));
  }
  async oidcRecordByUid(model: string, uid: string) {
    return first(await this.db.select().from(oidcRecords).where(and(eq(oidcRecords.model, model), eq(oidcRecords.uid, uid))).limit(1));
  }
  async oidcRecordByUserCode(model: string, userCode: string) {
    return first(await this.db.select().from(oidcRecords).where(and(eq(oidcRecords.model, model), eq(oidcRecords.userCode, userCode))).limit(1));
  }
  async oidcRecordsOf(model: string, memberId: number) {
    return this.db.select().from(oidcRecords).where(and(eq(oidcRecords.model, model), eq(oidcRecords.memberId, memberId)));
  }
  async consumeOidcRecord(key: string, at: number) {
    // Under READ COMMITTED a second UPDATE of the row waits for the first to commit, then sees it consumed: one wins.
    const result = await this.db.update(oidcRecords).set({ consumedAt: at }).where(and(eq(oidcRecords.key, key), isNull(oidcRecords.consumedAt)));
    return result.rowCount === 1;
  }
  async oidcRecordsConsumedSince(model: string, grantId: string, since: number) {
    return this.db.select().from(oidcRecords).where(and(eq(oidcRecords.grantId, grantId), eq(oidcRecords.model, model), gte(oidcRecords.consumedAt, since)));
  }
  async deleteOidcRecord(key: string) {
    await this.db.delete(oidcRecords).where(eq(oidcRecords.key, key));
  }
  async deleteOidcGrant(grantId: string, grantKey?: string) {
    await this.db.delete(oidcRecords).where(grantRecords(grantId, grantKey));
  }
  async deleteOidcRecordsOf(memberId: number) {
    return (await this.db.delete(oidcRecords).where(eq(oidcRecords.memberId, memberId))).rowCount ?? 0;
  }
  async deleteExpiredOidcRecords(now: number) {
    await this.db.delete(oidcRecords).where(lte(oidcRecords.expiresAt, now));
  }

  async refreshByHash(tokenHash: string) {
    return first(await this.db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)));
  }
  async liveRefreshMember(tokenHash: string, now: Date) {
    const rows = await this.db
      .select({ memberId: refreshTokens.memberId })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.spentAt), isNull(refreshTokens.revokedAt), gt(refreshTokens.expiresAt, now)));
    return rows[0]?.memberId;
  }
  async familyByHash(familyHash: string) {
    const rows = await this.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.familyHash, familyHash), isNull(refreshTokens.revokedAt)))
      .limit(1);
    return rows[0]?.familyId;
  }
  async familyOfToken(tokenHash: string, familyHash: string | null) {
    const rows = await this.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(or(eq(refreshTokens.tokenHash, tokenHash), familyHash ? eq(refreshTokens.familyHash, familyHash) : undefined))
      .limit(1);
    return rows[0]?.familyId;
  }
  async familyHashOf(familyId: string) {
    const rows = await this.db
      .select({ familyHash: refreshTokens.familyHash })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.familyId, familyId), isNotNull(refreshTokens.familyHash)))
      .limit(1);
    return rows[0]?.familyHash ?? undefined;
  }
  async refreshChild(parentId: number) {
    return first(await this.db.select().from(refreshTokens).where(eq(refreshTokens.parentId, parentId)).limit(1));
  }
  async spendRefresh(id: number, at: Date) {
    await this.db.update(refreshTokens).set({ spentAt: at }).where(eq(refreshTokens.id, id));
  }
  async pruneChain(familyId: string, id: number) {
    await this.db.delete(refreshTokens).where(and(eq(refreshTokens.familyId, familyId), lt(refreshTokens.id, id), isNotNull(refreshTokens.familyHash)));
  }
  async insertRefresh(values: NewRefreshToken) {
    await this.db.insert(refreshTokens).values(values);
  }
  async deleteFamily(familyId: string, memberId?: number) {
    await this.db
      .delete(refreshTokens)
      .where(and(eq(refreshTokens.familyId, familyId), memberId === undefined ? undefined : eq(refreshTokens.memberId, memberId)));
  }
  async rebindFamily(memberId: number, familyId: string, credentialVersion: number) {
    await this.db
      .update(refreshTokens)
      .set({ credentialVersion })
      .where(and(eq(refreshTokens.memberId, memberId), eq(refreshTokens.familyId, familyId)));
  }
  async deleteFamiliesOf(memberId: number, exceptFamilyId?: string) {
    const result = await this.db
      .delete(refreshTokens)
      .where(and(eq(refreshTokens.memberId, memberId), exceptFamilyId === undefined ? undefined : ne(refreshTokens.familyId, exceptFamilyId)));
    return result.rowCount ?? 0;
  }
  async liveFamilies(memberId: number, now: Date, limit: number) {
    const rows = await this.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.memberId, memberId), isNull(refreshTokens.revokedAt), isNull(refreshTokens.spentAt), gt(refreshTokens.expiresAt, now)))
      .orderBy(desc(refreshTokens.issuedAt), desc(refreshTokens.id))
      .limit(limit);
    return rows.map((r) => r.familyId);
  }
  async deleteFamiliesBut(memberId: number, keep: readonly string[]) {
    await this.db
      .delete(refreshTokens)
      .where(and(eq(refreshTokens.memberId, memberId), keep.length === 0 ? undefined : notInArray(refreshTokens.familyId, [...keep])));
  }
  async deleteDeadRefreshTokens(now: Date) {
    await this.db.delete(refreshTokens).where(or(lte(refreshTokens.expiresAt, now), lte(refreshTokens.revokedAt, now)));
  }

  async countFailures(by: 'email' | 'address', value: string, since: number) {
    const [row] = await this.db.select({ n: count() }).from(loginFailures).where(failuresBy(by, value, since));
    return row?.n ?? 0;
  }
  async nthNewestFailureAt(by: 'email' | 'address', value: string, since: number, n: number) {
    const rows = await this.db
      .select({ at: loginFailures.at })
      .from(loginFailures)
      .where(failuresBy(by, value, since))
      .orderBy(desc(loginFailures.at), asc(loginFailures.id))
      .limit(1)
      .offset(n - 1);
    return rows[0]?.at;
  }
  async insertFailure(values: { email: string; address: string; at: number }) {
    const [row] = await this.db.insert(loginFailures).values(values).returning({ id: loginFailures.id });
    return row!.id;
  }
  async deleteFailure(id: number) {
    await this.db.delete(loginFailures).where(eq(loginFailures.id, id));
  }
  async deleteFailuresOf(email: string) {
    await this.db.delete(loginFailures).where(eq(loginFailures.email, email));
  }
  async deleteFailuresBefore(at: number) {
    await this.db.delete(loginFailures).where(lte(loginFailures.at, at));
  }

  async deleteExpiredRateLimits(now: Date, batch: number) {
    // Skip what another instance's sweep holds: sweepers running at once take disjoint batches, never wait on each other.
    const expired = this.db
      .select({ key: rateLimits.key })
      .from(rateLimits)
      .where(lte(rateLimits.expire, now))
      .limit(batch)
      .for('update', { skipLocked: true });
    return (await this.db.delete(rateLimits).where(inArray(rateLimits.key, expired))).rowCount ?? 0;
  }

  async insertSecretIfAbsent(name: string, value: string, createdAt: Date) {
    await this.db.insert(appSecrets).values({ name, value, createdAt }).onConflictDoNothing({ target: appSecrets.name });
  }
  async secret(name: string) {
    const rows = await this.db.select({ value: appSecrets.value }).from(appSecrets).where(eq(appSecrets.name, name));
    return rows[0]?.value;
  }
}

/** The gym's data on PostgreSQL: what several processes (WEB_CONCURRENCY) share. */
export class PgGymData extends PgQueries implements GymData {
  readonly engine = 'postgres' as const;
  readonly rateLimitStore;

  constructor(private readonly postgres: PostgresDatabase<Schema>) {
    super(postgres.db, { prepared: true });
    // rate-limiter-flexible's Drizzle store speaks to a node-postgres Drizzle client as it does to a SQLite one.
    this.rateLimitStore = { storeClient: postgres.db, schema: rateLimits };
  }

  /**
   * A serializable transaction: PostgreSQL lets atomic steps run side by side and aborts one whose reads another has
   * since made stale (or that deadlocks); it then runs again, from the start of the script, on the new state. So a
   * step decides as it would running alone, as on SQLite, where the write lock makes them run one after another.
   */
  atomically<T>(script: (q: GymQueries) => Script<T>, options: QueueOptions = {}): Promise<T> {
    return serializable(this.postgres, (tx) => runAsync(script(new PgQueries(tx))), options);
  }

  healthy(): Promise<boolean> {
    return postgresHealth(this.postgres.pool);
  }

  openPubSub(log: { warn: (obj: object, msg: string) => void }): Promise<PubSub> {
    return PostgresPubSub.open(this.postgres.pool, this.postgres.url, log);
  }

  close(): Promise<void> {
    return this.postgres.close();
  }
}

/** Opens the gym's PostgreSQL database and applies every migration in `drizzle/gym/pg`. */
export async function openPgGymData(
  url: string,
  options: { poolSize: number; onQuery?: (sql: string) => void; onError?: (err: Error) => void },
): Promise<PgGymData> {
  return new PgGymData(await openPostgres(url, { schema: pgSchema, migrationsFolder: GYM_PG_MIGRATIONS_DIR, ...options }));
}
