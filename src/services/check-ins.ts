import type { Context } from '../context.js';
import type { CheckInRow } from '../db/data.js';
import type { Viewer } from '../auth/viewer.js';
import { LiveStream } from '../live/stream.js';
import { BadUserInputError, MembershipInactiveError, OutsidePlanHoursError } from '../errors.js';
import { idOf } from '../ids.js';
import { membershipStatus } from './memberships.js';
import { decodeCursor, pageSize, toConnection, type Connection } from './pagination.js';
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
 * staffed hours.
 */
export async function checkIn(ctx: Context, rawDoor: string | null | undefined, now = new Date()): Promise<CheckInRow> {
  const viewer = ctx.viewer!;
  // Every attempt counts, repeats included: fifteen aliases a request cannot turn the door into a write loop.
  await ctx.services.rateLimits.consume('checkIn', viewer.memberId);
  const door = optionalLabel(rawDoor, 'door');
  const membership = await ctx.loaders.membershipByMemberId.load(viewer.memberId);
  if (!membership || membershipStatus(membership, now) !== 'ACTIVE') throw new MembershipInactiveError();
  const plan = await ctx.loaders.planById.load(membership.planId);
  if (!plan?.allHours && !withinStaffedHours(now, ctx.services.config.gymTimezone)) {
    throw new OutsidePlanHoursError(`${STAFFED_HOURS.opens}:00-${STAFFED_HOURS.closes}:00 ${ctx.services.config.gymTimezone}`);
  }
  // Once through the door is once on the sheet: a repeat within the window (a double tap, a retry, fifteen aliases in
  // one request, two instances at once) gets the same check-in back. Atomic, so two requests cannot both write.
  const memberId = viewer.memberId;
  const since = new Date(now.getTime() - REPEAT_WINDOW_MS);
  const { row, created } = await ctx.services.data.atomically(
    async (tx) => {
      const recent = await tx.checkIns.lastSince(memberId, since);
      if (recent) return { row: recent, created: false };
      return { row: await tx.checkIns.insert({ memberId, at: now, door, method: viewer.method }), created: true };
    },
    { queueOn: [`member:${memberId}`] },
  );
  // Told once, after it committed: the front desk's sheet and the member's phone see each admission once.
  if (created) await ctx.services.live.checkedIn(row);
  return row;
}

/**
 * The check-ins made from now on, as they happen: every one (`memberId` null), or one member's. Only on a socket,
 * where each is sent after the socket's viewer is checked anew and while `allows` (the field's guard) still holds.
 */
export function watchCheckIns(ctx: Context, memberId: number | null, allows: (viewer: Viewer) => boolean): AsyncIterableIterator<CheckInRow> {
  if (!ctx.live) throw new Error('subscriptions run on a socket');
  return new LiveStream(ctx.live, {
    listen: (push) => ctx.services.live.onCheckIn((row) => (memberId === null || row.memberId === memberId ? push(row) : undefined)),
    allows,
    maxQueued: ctx.services.config.live.maxQueuedEvents,
  });
}

/** The access sheet, newest first, optionally for one member. */
export async function listCheckIns(
  ctx: Context,
  args: { first?: number | null; after?: string | null; memberId?: string | null },
): Promise<Connection<CheckInRow>> {
  const size = pageSize(args.first);
  const beforeId = decodeCursor(args.after);
  let memberId: number | null = null;
  if (args.memberId !== null && args.memberId !== undefined) {
    memberId = idOf('Member', args.memberId);
    if (memberId === null) throw new BadUserInputError('memberId', 'is not a Member ID');
  }
  const rows = await ctx.services.data.checkIns.sheet({ memberId, beforeId, limit: size + 1 });
  return toConnection(rows, size);
}

/** One member's check-ins, newest first; batched across members by the request's loader. */
export async function memberCheckIns(
  ctx: Context,
  memberId: number,
  args: { first?: number | null; after?: string | null },
): Promise<Connection<CheckInRow>> {
  const size = pageSize(args.first);
  const beforeId = decodeCursor(args.after);
  const rows = await ctx.loaders.checkInPage.load({ memberId, limit: size + 1, beforeId });
  return toConnection(rows, size);
}
