import { hashPassword } from './auth/passwords.js';
import type { RoleName } from './shared/roles.js';
import type { GymData, NewCheckIn } from './db/data.js';
import type { PlanCodeName } from './db/schema.js';

const DAY = 86_400_000;

/** The plans the gym sells: reference data every database needs, whatever the mode. Idempotent. */
export async function ensurePlans(data: GymData): Promise<void> {
  await data.plans.ensure([
    { code: 'BASIC', name: 'Basic (staffed hours)', allHours: false, monthlyPriceCents: 2900 },
    { code: 'ALL_HOURS', name: 'All hours (24-hour keycard)', allHours: true, monthlyPriceCents: 4900 },
  ]);
}

/** The demo accounts the README lists. */
const DEMO_MEMBERS: ReadonlyArray<{
  email: string;
  password: string;
  name: string;
  role: RoleName;
  plan: PlanCodeName;
  active: boolean;
}> = [
  { email: 'admin@keycard.test', password: 'keycard-admin-pass', name: 'Ada Admin', role: 'ADMIN', plan: 'ALL_HOURS', active: true },
  { email: 'staff@keycard.test', password: 'keycard-staff-pass', name: 'Sam Staff', role: 'STAFF', plan: 'ALL_HOURS', active: true },
  { email: 'alice@keycard.test', password: 'keycard-alice-pass', name: 'Alice Member', role: 'MEMBER', plan: 'ALL_HOURS', active: true },
  { email: 'bob@keycard.test', password: 'keycard-bob-pass', name: 'Bob Member', role: 'MEMBER', plan: 'BASIC', active: false },
];

/**
 * Seeds the demo members, their memberships and a few dozen check-ins (so lists page) into an empty database.
 * Refuses a database that already has members: demo data never mixes with real data.
 */
export async function seedDemo(data: GymData, now = new Date()): Promise<void> {
  if (await data.members.any()) throw new Error('refusing to seed demo data into a database that already has members');
  const hashes = await Promise.all(DEMO_MEMBERS.map((m) => hashPassword(m.password)));
  const planIds = new Map((await data.plans.all()).map((p) => [p.code, p.id]));
  await data.atomically(async (tx) => {
    // Another instance starting on the same empty database at the same moment: one of the two seeds, never both.
    if (await tx.members.any()) return;
    const visitRows: NewCheckIn[] = [];
    for (const [i, demo] of DEMO_MEMBERS.entries()) {
      const createdAt = new Date(now.getTime() - 400 * DAY);
      const member = (await tx.members.insert({ email: demo.email, name: demo.name, passwordHash: hashes[i]!, role: demo.role, createdAt }))!;
      await tx.memberships.upsert({
        memberId: member.id,
        planId: planIds.get(demo.plan)!,
        validUntil: new Date(now.getTime() + (demo.active ? 365 : -30) * DAY),
        updatedAt: now,
      });
      // Past visits, oldest first, at plausible hours: 36 for each active member, a few for bob while he was paid up.
      const visits = demo.active ? 36 : 4;
      const rows = Array.from({ length: visits }, (_, v) => ({
        memberId: member.id,
        at: new Date(now.getTime() - (visits - v + (demo.active ? 0 : 30)) * DAY + ((7 + (v % 12)) * 3_600_000)),
        door: v % 3 === 0 ? 'side' : 'main',
        method: v % 2 === 0 ? ('SESSION' as const) : ('TOKEN' as const),
      }));
      visitRows.push(...rows);
    }
    // Ids follow time, as they do for real check-ins, so the access sheet's newest-first order is by id.
    visitRows.sort((a, b) => a.at.getTime() - b.at.getTime());
    await tx.checkIns.insertMany(visitRows);
  });
}

/**
 * What every start does to the data: load the plans, then seed the demo into an empty database when `seedDemo`
 * says so (undefined: only in development). Returns whether it seeded.
 */
export async function prepareData(data: GymData, options: { seedDemo: boolean | undefined; production: boolean }): Promise<'seeded' | 'not-empty' | 'off'> {
  await ensurePlans(data);
  const wanted = options.seedDemo ?? !options.production;
  if (!wanted) return 'off';
  if (await data.members.any()) return 'not-empty';
  await seedDemo(data);
  return 'seeded';
}
