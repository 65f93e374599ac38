import { and, asc, count, desc, eq, gt, gte, inArray, isNotNull, isNull, like, lt, lte, ne, notInArray, or, sql, type SQL } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { GYM_MIGRATIONS_DIR } from '../shared/paths.js';
import { immediately, openSqlite, sqliteHealth, type SqliteDatabase } from '../shared/sqlite.js';
import type { GymData, GymQueries, NewCheckIn, NewMember, NewRefreshToken, SessionRecord, SheetPage } from './data.js';
import * as schema from './schema.js';
import { appSecrets, checkIns, loginFailures, members, memberships, oidcRecords, plans, rateLimits, refreshTokens, sessions, type OidcRecordRow } from './schema.js';
import { InProcessPubSub, type PubSub } from '../live/pubsub.js';
import { runSync, type Script } from '../shared/steps.js';

/** A grant's records: those issued under it, and with `grantKey` the Grant record itself. */
function grantRecords(grantId: string, grantKey?: string) {
  return grantKey ? or(eq(oidcRecords.grantId, grantId), eq(oidcRecords.key, grantKey)) : eq(oidcRecords.grantId, grantId);
}

type Db = BetterSQLite3Database<typeof schema>;

/**
 * A list of ids bound as one JSON parameter (`id in (select value from json_each(?))`), so that a single prepared
 * statement serves a batch of any size: DataLoader batches vary from one key to a page of fifty.
 */
const idList = (name: string): SQL => sql`(select value from json_each(${sql.placeholder(name)}))`;
const ids = (values: readonly number[]) => ({ ids: JSON.stringify(values) });

function failuresBy(by: 'email' | 'address', value: string, since: number): SQL | undefined {
  return and(eq(by === 'email' ? loginFailures.email : loginFailures.address, value), gt(loginFailures.at, since));
}

/**
 * The gym's statements on SQLite (better-sqlite3): every answer at once. The statements every request runs
 * (authentication, `me`, the access sheet and its relations) are prepared once, when the server starts, instead of
 * being built and compiled by the query builder on every call. There is one connection, so the same object serves
 * inside a transaction and outside it.
 */
class SqliteQueries implements GymQueries {
  private readonly prepared;

  constructor(private readonly db: Db) {
    const sheet = (filters: { member: boolean; cursor: boolean }) =>
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
        .limit(sql.placeholder('limit'))
        .prepare();
    this.prepared = {
      membersByIds: db.select().from(members).where(inArray(members.id, idList('ids'))).prepare(),
      memberById: db.select().from(members).where(eq(members.id, sql.placeholder('id'))).prepare(),
      membershipsByMemberIds: db.select().from(memberships).where(inArray(memberships.memberId, idList('ids'))).prepare(),
      plansByIds: db.select().from(plans).where(inArray(plans.id, idList('ids'))).prepare(),
      allPlans: db.select().from(plans).orderBy(asc(plans.monthlyPriceCents)).prepare(),
      checkInsByIds: db.select().from(checkIns).where(inArray(checkIns.id, idList('ids'))).prepare(),
      /** The access sheet, newest first: one statement per shape of filter, so each keeps its index. */
      sheet: {
        all: sheet({ member: false, cursor: false }),
        after: sheet({ member: false, cursor: true }),
        member: sheet({ member: true, cursor: false }),
        memberAfter: sheet({ member: true, cursor: true }),
      },
      sessionByKey: db
        .select({ data: sessions.data, expiresAt: sessions.expiresAt })
        .from(sessions)
        .where(eq(sessions.sid, sql.placeholder('key')))
        .prepare(),
      sessionActivity: db
        .update(sessions)
        .set({ data: sql`${sql.placeholder('data')}`, expiresAt: sql`${sql.placeholder('expiresAt')}` })
        .where(and(eq(sessions.sid, sql.placeholder('key')), eq(sessions.memberId, sql.placeholder('memberId'))))
        .prepare(),
    };
  }

  membersByIds(list: readonly number[]) {
    return this.prepared.membersByIds.all(ids(list));
  }
  memberById(id: number) {
    return this.prepared.memberById.get({ id });
  }
  memberByEmail(email: string) {
    return this.db.select().from(members).where(eq(sql`lower(${members.email})`, email)).get();
  }
  memberStanding(id: number) {
    return this.db.select({ role: members.role, status: members.status, tokenVersion: members.tokenVersion }).from(members).where(eq(members.id, id)).get();
  }
  listMembers(page: { afterId: number | null; pattern: string | null; limit: number }) {
    const { afterId, pattern, limit } = page;
    return this.db
      .select()
      .from(members)
      .where(
        and(
          afterId === null ? undefined : gt(members.id, afterId),
          pattern === null ? undefined : or(like(sql`lower(${members.name})`, sql`${pattern} escape '!'`), like(members.email, sql`${pattern} escape '!'`)),
        ),
      )
      .orderBy(asc(members.id))
      .limit(limit)
      .all();
  }
  hasMembers() {
    return this.db.select({ id: members.id }).from(members).limit(1).get() !== undefined;
  }
  insertMember(values: NewMember) {
    return this.db.insert(members).values(values).onConflictDoNothing().returning().get();
  }
  countActiveAdminsBesides(memberId: number) {
    return (
      this.db
        .select({ n: count() })
        .from(members)
        .where(and(eq(members.role, 'ADMIN'), eq(members.status, 'ACTIVE'), ne(members.id, memberId)))
        .get()?.n ?? 0
    );
  }
  updateMember(id: number, set: Parameters<GymQueries['updateMember']>[1]) {
    return this.db.update(members).set(set).where(eq(members.id, id)).returning().get();
  }
  setPasswordIfCurrent(id: number, tokenVersion: number, passwordHash: string) {
    const where = and(eq(members.id, id), eq(members.tokenVersion, tokenVersion), eq(members.status, 'ACTIVE'));
    return this.db.update(members).set({ passwordHash }).where(where).run().changes === 1;
  }
  bumpCredentialVersion(id: number) {
    return this.db
      .update(members)
      .set({ tokenVersion: sql`${members.tokenVersion} + 1` })
      .where(eq(members.id, id))
      .returning({ version: members.tokenVersion })
      .get()?.version;
  }

  allPlans() {
    return this.prepared.allPlans.all();
  }
  plansByIds(list: readonly number[]) {
    return this.prepared.plansByIds.all(ids(list));
  }
  planByCode(code: schema.PlanCodeName) {
    return this.db.select().from(plans).where(eq(plans.code, code)).get();
  }
  ensurePlans(rows: Omit<schema.PlanRow, 'id'>[]) {
    this.db.insert(plans).values(rows).onConflictDoNothing({ target: plans.code }).run();
  }
  membershipsByMemberIds(list: readonly number[]) {
    return this.prepared.membershipsByMemberIds.all(ids(list));
  }
  upsertMembership(values: schema.MembershipRow) {
    const { planId, validUntil, updatedAt } = values;
    return this.db
      .insert(memberships)
      .values(values)
      .onConflictDoUpdate({ target: memberships.memberId, set: { planId, validUntil, updatedAt } })
      .returning()
      .get();
  }

  checkInsByIds(list: readonly number[]) {
    return this.prepared.checkInsByIds.all(ids(list));
  }
  checkInSheet({ memberId, beforeId, limit }: SheetPage) {
    const { sheet } = this.prepared;
    if (memberId === null) return beforeId === null ? sheet.all.all({ limit }) : sheet.after.all({ limit, beforeId });
    return beforeId === null ? sheet.member.all({ limit, memberId }) : sheet.memberAfter.all({ limit, memberId, beforeId });
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
      .where(and(inArray(checkIns.memberId, [...memberIds]), beforeId === null ? undefined : lt(checkIns.id, beforeId)))
      .as('ranked');
    return this.db
      .select({ id: ranked.id, memberId: ranked.memberId, at: ranked.at, door: ranked.door, method: ranked.method })
      .from(ranked)
      .where(sql`${ranked.rank} <= ${limit}`)
      .orderBy(ranked.memberId, desc(ranked.id))
      .all();
  }
  lastCheckInSince(memberId: number, since: Date) {
    return this.db
      .select()
      .from(checkIns)
      .where(and(eq(checkIns.memberId, memberId), gt(checkIns.at, since)))
      .orderBy(desc(checkIns.id))
      .limit(1)
      .get();
  }
  insertCheckIn(values: NewCheckIn) {
    return this.db.insert(checkIns).values(values).returning().get();
  }
  insertCheckIns(rows: NewCheckIn[]) {
    if (rows.length > 0) this.db.insert(checkIns).values(rows).run();
  }

  sessionByKey(key: string) {
    return this.prepared.sessionByKey.get({ key });
  }
  insertSession({ key, memberId, data, expiresAt }: SessionRecord) {
    this.db.insert(sessions).values({ sid: key, memberId, data, expiresAt }).onConflictDoNothing({ target: sessions.sid }).run();
  }
  recordSessionActivity(record: SessionRecord) {
    return this.prepared.sessionActivity.run({ ...record }).changes === 1;
  }
  deleteSession(key: string) {
    this.db.delete(sessions).where(eq(sessions.sid, key)).run();
  }
  deleteSessionsOf(memberId: number) {
    return this.db.delete(sessions).where(eq(sessions.memberId, memberId)).run().changes;
  }
  deleteExpiredSessions(now: number) {
    this.db.delete(sessions).where(lte(sessions.expiresAt, now)).run();
  }

  upsertOidcRecord(record: OidcRecordRow) {
    const { key, ...rest } = record;
    this.db.insert(oidcRecords).values(record).onConflictDoUpdate({ target: oidcRecords.key, set: rest }).run();
  }
  oidcRecord(key: string) {
    return this.db.select().from(oidcRecords).where(eq(oidcRecords.key, key)).get();
  }
  oidcRecordByUid(model: string, uid: string) {
    return this.db.select().from(oidcRecords).where(and(eq(oidcRecords.model, model), eq(oidcRecords.uid, uid))).get();
  }
  oidcRecordByUserCode(model: string, userCode: string) {
    return this.db.select().from(oidcRecords).where(and(eq(oidcRecords.model, model), eq(oidcRecords.userCode, userCode))).get();
  }
  oidcRecordsOf(model: string, memberId: number) {
    return this.db.select().from(oidcRecords).where(and(eq(oidcRecords.model, model), eq(oidcRecords.memberId, memberId))).all();
  }
  consumeOidcRecord(key: string, at: number) {
    return this.db.update(oidcRecords).set({ consumedAt: at }).where(and(eq(oidcRecords.key, key), isNull(oidcRecords.consumedAt))).run().changes === 1;
  }
  oidcRecordsConsumedSince(model: string, grantId: string, since: number) {
    return this.db.select().from(oidcRecords).where(and(eq(oidcRecords.grantId, grantId), eq(oidcRecords.model, model), gte(oidcRecords.consumedAt, since))).all();
  }
  deleteOidcRecord(key: string) {
    this.db.delete(oidcRecords).where(eq(oidcRecords.key, key)).run();
  }
  deleteOidcGrant(grantId: string, grantKey?: string) {
    this.db.delete(oidcRecords).where(grantRecords(grantId, grantKey)).run();
  }
  deleteOidcRecordsOf(memberId: number) {
    return this.db.delete(oidcRecords).where(eq(oidcRecords.memberId, memberId)).run().changes;
  }
  deleteExpiredOidcRecords(now: number) {
    this.db.delete(oidcRecords).where(lte(oidcRecords.expiresAt, now)).run();
  }

  refreshByHash(tokenHash: string) {
    return this.db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).get();
  }
  liveRefreshMember(tokenHash: string, now: Date) {
    return this.db
      .select({ memberId: refreshTokens.memberId })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.spentAt), isNull(refreshTokens.revokedAt), gt(refreshTokens.expiresAt, now)))
      .get()?.memberId;
  }
  familyByHash(familyHash: string) {
    return this.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.familyHash, familyHash), isNull(refreshTokens.revokedAt)))
      .get()?.familyId;
  }
  familyOfToken(tokenHash: string, familyHash: string | null) {
    return this.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(or(eq(refreshTokens.tokenHash, tokenHash), familyHash ? eq(refreshTokens.familyHash, familyHash) : undefined))
      .get()?.familyId;
  }
  familyHashOf(familyId: string) {
    return this.db
      .select({ familyHash: refreshTokens.familyHash })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.familyId, familyId), isNotNull(refreshTokens.familyHash)))
      .limit(1)
      .get()?.familyHash ?? undefined;
  }
  refreshChild(parentId: number) {
    return this.db.select().from(refreshTokens).where(eq(refreshTokens.parentId, parentId)).get();
  }
  spendRefresh(id: number, at: Date) {
    this.db.update(refreshTokens).set({ spentAt: at }).where(eq(refreshTokens.id, id)).run();
  }
  pruneChain(familyId: string, id: number) {
    this.db
      .delete(refreshTokens)
      .where(and(eq(refreshTokens.familyId, familyId), lt(refreshTokens.id, id), isNotNull(refreshTokens.familyHash)))
      .run();
  }
  insertRefresh(values: NewRefreshToken) {
    this.db.insert(refreshTokens).values(values).run();
  }
  deleteFamily(familyId: string, memberId?: number) {
    this.db
      .delete(refreshTokens)
      .where(and(eq(refreshTokens.familyId, familyId), memberId === undefined ? undefined : eq(refreshTokens.memberId, memberId)))
      .run();
  }
  rebindFamily(memberId: number, familyId: string, credentialVersion: number) {
    this.db
      .update(refreshTokens)
      .set({ credentialVersion })
      .where(and(eq(refreshTokens.memberId, memberId), eq(refreshTokens.familyId, familyId)))
      .run();
  }
  deleteFamiliesOf(memberId: number, exceptFamilyId?: string) {
    return this.db
      .delete(refreshTokens)
      .where(and(eq(refreshTokens.memberId, memberId), exceptFamilyId === undefined ? undefined : ne(refreshTokens.familyId, exceptFamilyId)))
      .run().changes;
  }
  liveFamilies(memberId: number, now: Date, limit: number) {
    return this.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.memberId, memberId), isNull(refreshTokens.revokedAt), isNull(refreshTokens.spentAt), gt(refreshTokens.expiresAt, now)))
      .orderBy(desc(refreshTokens.issuedAt), desc(refreshTokens.id))
      .limit(limit)
      .all()
      .map((r) => r.familyId);
  }
  deleteFamiliesBut(memberId: number, keep: readonly string[]) {
    this.db
      .delete(refreshTokens)
      .where(and(eq(refreshTokens.memberId, memberId), keep.length === 0 ? undefined : notInArray(refreshTokens.familyId, [...keep])))
      .run();
  }
  deleteDeadRefreshTokens(now: Date) {
    this.db
      .delete(refreshTokens)
      .where(or(lte(refreshTokens.expiresAt, now), lte(refreshTokens.revokedAt, now)))
      .run();
  }

  countFailures(by: 'email' | 'address', value: string, since: number) {
    return this.db.select({ n: count() }).from(loginFailures).where(failuresBy(by, value, since)).get()?.n ?? 0;
  }
  nthNewestFailureAt(by: 'email' | 'address', value: string, since: number, n: number) {
    return this.db
      .select({ at: loginFailures.at })
      .from(loginFailures)
      .where(failuresBy(by, value, since))
      .orderBy(desc(loginFailures.at), asc(loginFailures.id))
      .limit(1)
      .offset(n - 1)
      .get()?.at;
  }
  insertFailure(values: { email: string; address: string; at: number }) {
    return this.db.insert(loginFailures).values(values).returning({ id: loginFailures.id }).get().id;
  }
  deleteFailure(id: number) {
    this.db.delete(loginFailures).where(eq(loginFailures.id, id)).run();
  }
  deleteFailuresOf(email: string) {
    this.db.delete(loginFailures).where(eq(loginFailures.email, email)).run();
  }
  deleteFailuresBefore(at: number) {
    this.db.delete(loginFailures).where(lte(loginFailures.at, at)).run();
  }

  deleteExpiredRateLimits(now: Date, batch: number) {
    const expired = this.db.select({ key: rateLimits.key }).from(rateLimits).where(lte(rateLimits.expire, now)).limit(batch);
    return this.db.delete(rateLimits).where(inArray(rateLimits.key, expired)).run().changes;
  }

  insertSecretIfAbsent(name: string, value: string, createdAt: Date) {
    this.db.insert(appSecrets).values({ name, value, createdAt }).onConflictDoNothing({ target: appSecrets.name }).run();
  }
  secret(name: string) {
    return this.db.select({ value: appSecrets.value }).from(appSecrets).where(eq(appSecrets.name, name)).get()?.value;
  }
}

/** The gym's data on a SQLite file (or `:memory:`): the embedded default, nothing else to run. */
export class SqliteGymData extends SqliteQueries implements GymData {
  readonly engine = 'sqlite' as const;
  readonly rateLimitStore;
  readonly healthy: () => Promise<boolean>;

  constructor(
    /** The open file, for what only SQLite has (tests that age rows, the copy to PostgreSQL). */
    readonly sqlite: SqliteDatabase<typeof schema>,
  ) {
    super(sqlite.db);
    this.rateLimitStore = { storeClient: sqlite.db, schema: rateLimits };
    this.healthy = sqliteHealth(sqlite.sqlite);
  }

  /** An immediate transaction (see {@link immediately}): SQLite's steps never overlap, so they need no queue. */
  atomically<T>(script: (q: GymQueries) => Script<T>): T {
    return immediately(this.sqlite, () => runSync(script(this)));
  }

  /** One process serves a SQLite gym (WEB_CONCURRENCY above 1 is refused), so its events stay in that process. */
  async openPubSub(log: { warn: (obj: object, msg: string) => void }): Promise<PubSub> {
    return new InProcessPubSub((err) => log.warn({ err }, 'a listener of a database event failed'));
  }

  async close(): Promise<void> {
    this.sqlite.close();
  }
}

/** Opens the gym's SQLite database and applies every migration in `drizzle/gym/sqlite`. */
export function openSqliteGymData(url: string, options: { onQuery?: (sql: string) => void } = {}): SqliteGymData {
  return new SqliteGymData(openSqlite(url, { schema, migrationsFolder: GYM_MIGRATIONS_DIR, ...options }));
}
