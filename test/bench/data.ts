/**
 * The benchmark's database: a gym of realistic size, written straight into a fresh SQLite file with the gym's own
 * migrations. Every member shares one password hash, made once: hashing 10,000 passwords with argon2id would take
 * minutes and measure nothing the benchmark is about.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { hashPassword } from '../../src/auth/passwords.js';
import { openSqliteGymData } from '../../src/db/sqlite-data.js';
import { checkIns, members, memberships, plans } from '../../src/db/schema.js';
import { ensurePlans } from '../../src/seed.js';

/** The password of every benchmark member (12+ characters and not a common one, as the policy asks). */
export const BENCH_PASSWORD = 'bench-keycard-pass-2024';

const DAY = 86_400_000;
/** Rows per INSERT: far below SQLite's limit on bound variables, large enough to keep generation to seconds. */
const CHUNK = 500;

export interface BenchMember {
  id: number;
  email: string;
}

export interface BenchData {
  /** Active MEMBERs (not STAFF), in id order: the identities that token, session and login traffic cycle through. */
  members: BenchMember[];
  /** A STAFF member, who may read the access sheet. */
  staff: BenchMember;
}

const FIRST_NAMES = ['Ada', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hugo', 'Ines', 'Jonas', 'Kemi', 'Liam', 'Maya', 'Noor', 'Oscar', 'Priya'];
const LAST_NAMES = ['Adeyemi', 'Brennan', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ivanova', 'Jensen', 'Kowalski', 'Lindqvist'];

/** A small seeded generator (mulberry32), so that every run measures the same data. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function chunks<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += CHUNK) out.push(rows.slice(i, i + CHUNK));
  return out;
}

/** One in a hundred members works at the desk; the rest are members. */
const isStaff = (index: number) => index % 100 === 0;

function memberRows(count: number, passwordHash: string, now: number): (typeof members.$inferInsert)[] {
  return Array.from({ length: count }, (_, i) => ({
    email: `m${String(i).padStart(5, '0')}@bench.test`,
    name: `${FIRST_NAMES[i % FIRST_NAMES.length]} ${LAST_NAMES[Math.floor(i / FIRST_NAMES.length) % LAST_NAMES.length]}`,
    passwordHash,
    role: isStaff(i) ? ('STAFF' as const) : ('MEMBER' as const),
    createdAt: new Date(now - (400 + (i % 300)) * DAY),
  }));
}

/** Most members have a plan; one in twenty never had one, one in twenty let theirs lapse. */
function membershipRows(ids: number[], planIds: { basic: number; allHours: number }, now: number): (typeof memberships.$inferInsert)[] {
  return ids.flatMap((memberId, i) => {
    if (i % 20 === 19 && !isStaff(i)) return [];
    const lapsed = i % 20 === 18 && !isStaff(i);
    return [
      {
        memberId,
        planId: isStaff(i) || i % 3 === 0 ? planIds.allHours : planIds.basic,
        validUntil: new Date(now + (lapsed ? -10 : 30 + (i % 335)) * DAY),
        updatedAt: new Date(now - (i % 60) * DAY),
      },
    ];
  });
}

/** Visits over the past year, oldest first, so that ids follow time as they do for real check-ins. */
function checkInRows(count: number, memberIds: number[], now: number): (typeof checkIns.$inferInsert)[] {
  const random = seededRandom(42);
  const rows = Array.from({ length: count }, () => ({
    memberId: memberIds[Math.floor(random() * memberIds.length)]!,
    at: new Date(now - Math.floor(random() * 365 * DAY)),
    door: random() < 0.8 ? 'main' : 'side',
    method: random() < 0.5 ? ('SESSION' as const) : ('TOKEN' as const),
  }));
  return rows.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/**
 * Writes a fresh gym database at `file`: the migrations, the plans, `memberCount` members (1% STAFF) with one shared
 * password hash, their memberships, and `checkInCount` check-ins, in one transaction.
 */
export async function generateDatabase(file: string, options: { memberCount: number; checkInCount: number }): Promise<BenchData> {
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  const now = Date.now();
  const database = openSqliteGymData(file);
  try {
    const { db } = database.sqlite;
    await ensurePlans(database);
    const planByCode = new Map(db.select().from(plans).all().map((p) => [p.code, p.id]));
    const planIds = { basic: planByCode.get('BASIC')!, allHours: planByCode.get('ALL_HOURS')! };
    const rows = memberRows(options.memberCount, passwordHash, now);
    const ids = db.transaction((tx) => {
      const inserted = chunks(rows).flatMap((chunk) => tx.insert(members).values(chunk).returning({ id: members.id }).all().map((r) => r.id));
      for (const chunk of chunks(membershipRows(inserted, planIds, now))) tx.insert(memberships).values(chunk).run();
      for (const chunk of chunks(checkInRows(options.checkInCount, inserted, now))) tx.insert(checkIns).values(chunk).run();
      return inserted;
    });
    const all = ids.map((id, i) => ({ id, email: rows[i]!.email }));
    return { members: all.filter((_, i) => !isStaff(i)), staff: all[0]! };
  } finally {
    // Closing checkpoints the write-ahead log into the file, so a plain copy of the file is the whole database.
    await database.close();
  }
}

/** A private copy of the database for one server, so that no two servers share a file or its write lock. */
export function copyDatabase(from: string, to: string): void {
  if (existsSync(`${from}-wal`)) throw new Error(`${from} still has a write-ahead log: close it before copying`);
  copyFileSync(from, to);
}
