import type { CheckInRow } from '../db/data.js';
import { BadUserInputError, MembershipInactiveError, OutsidePlanHoursError } from '../shared/errors.js';
import { idOf } from '../ids.js';
import { actingMember, type Actor, type Rows } from './actor.js';
import { membershipStatus } from './memberships.js';
import { decodeCursor, pageSize, toConnection, type Connection } from './pagination.js';
import type { Services } from './services.js';
import { optionalLabel } from './validation.js';

/** A member checking in again within this window gets their check-in back instead of a new row. */
const REPEAT_WINDOW_MS = 5 * 60_000;

/** BASIC admits during staffed hours only: from 06:00 up to (not including) 22:00, gym time. */
const STAFFED_HOURS = { opens: 6, closes: 22 } as const;

const hourFormats = new Map<string, Intl.DateTimeFormat>();

/** The hour (0-23) on the gym's wall clock at `at`. */
export function gymHour(at: Date, timeZone: string): number {
  let format = hourFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, hour: 'numeric', hourCycle: 'h23' });
    hourFormats.set(timeZone, format);
  }
  return Number(format.formatToParts(at).find((p) => p.type === 'hour')?.value);
}

export function withinStaffedHours(at: Date, timeZone: string): boolean {
  const hour = gymHour(at, timeZone);
  return hour >= STAFFED_HOURS.opens && hour < STAFFED_HOURS.closes;
}

/**
 * Admits the signed-in member through the door and writes the access sheet, once per repeat window. Refused with
 * MEMBERSHIP_INACTIVE (no membership or an expired one, checked first), or OUTSIDE_PLAN_HOURS for BASIC outside
 * staffed hours. `rows` reads the member's membership and plan.
 */
export async function checkIn(
  services: Services,
  actor: Actor,
  rows: Pick<Rows, 'membershipByMemberId' | 'planById'>,
  rawDoor: string | null | undefined,
  now = new Date(),
): Promise<CheckInRow> {
  const viewer = actingMember(actor);
  // Every attempt counts, repeats included: fifteen aliases a request cannot turn the door into a write loop.
  await services.rateLimits.consume('checkIn', viewer.memberId);
  const door = optionalLabel(rawDoor, 'door');
  const membership = await rows.membershipByMemberId.load(viewer.memberId);
  if (!membership || membershipStatus(membership, now) !== 'ACTIVE') throw new MembershipInactiveError();
  const plan = await rows.planById.load(membership.planId);
  if (!plan?.allHours && !withinStaffedHours(now, services.config.gymTimezone)) {
    throw new OutsidePlanHoursError(`${STAFFED_HOURS.opens}:00-${STAFFED_HOURS.closes}:00 ${services.config.gymTimezone}`);
  }
  // Once through the door is once on the sheet: a repeat within the window (a double tap, a retry, fifteen aliases in
  // one request, two instances at once) gets the same check-in back. Atomic, so two requests cannot both write.
  const memberId = viewer.memberId;
  const since = new Date(now.getTime() - REPEAT_WINDOW_MS);
  const { row, created } = await services.data.atomically(
    async (tx) => {
      const recent = await tx.checkIns.lastSince(memberId, since);
      if (recent) return { row: recent, created: false };
      return { row: await tx.checkIns.insert({ memberId, at: now, door, method: viewer.method }), created: true };
    },
    { queueOn: [`member:${memberId}`] },
  );
  // Told once, after it committed: the front desk's sheet and the member's phone see each admission once.
  if (created) await services.live.checkedIn(row);
  return row;
}

/**
 * Hands `push` each check-in made from now on, on any process of the gym, as it happens: every one (`memberId` null),
 * or one member's. Returns what stops it. Whoever watches decides who may go on seeing them (a socket checks its
 * viewer anew before each).
 */
export function watchCheckIns(services: Pick<Services, 'live'>, memberId: number | null, push: (row: CheckInRow) => void): () => void {
  return services.live.onCheckIn((row) => (memberId === null || row.memberId === memberId ? push(row) : undefined));
}

/** The access sheet, newest first, optionally for one member. */
export async function listCheckIns(
  services: Services,
  args: { first?: number | null; after?: string | null; memberId?: string | null },
): Promise<Connection<CheckInRow>> {
  const size = pageSize(args.first);
  const beforeId = decodeCursor(args.after);
  let memberId: number | null = null;
  if (args.memberId !== null && args.memberId !== undefined) {
    memberId = idOf('Member', args.memberId);
    if (memberId === null) throw new BadUserInputError('memberId', 'is not a Member ID');
  }
  const rows = await services.data.checkIns.sheet({ memberId, beforeId, limit: size + 1 });
  return toConnection(rows, size);
}

/** One member's check-ins, newest first; over GraphQL `pages` batches the pages of every member a list shows. */
export async function memberCheckIns(
  pages: Pick<Rows, 'checkInPage'>,
  memberId: number,
  args: { first?: number | null; after?: string | null },
): Promise<Connection<CheckInRow>> {
  const size = pageSize(args.first);
  const beforeId = decodeCursor(args.after);
  const rows = await pages.checkInPage.load({ memberId, limit: size + 1, beforeId });
  return toConnection(rows, size);
}
