import { and, asc, eq, gt, like, or, sql } from 'drizzle-orm';
import type { Context } from '../context.js';
import { members, type MemberRow, type MemberStatusName } from '../db/schema.js';
import { roleRank, type RoleName } from '../shared/roles.js';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../errors.js';
import { requireIdOf } from '../ids.js';
import { endCredentials } from './auth.js';
import { decodeCursor, pageSize, toConnection, type Connection } from './pagination.js';

/** `%` and `_` typed into a search box mean themselves, not wildcards. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Every member, oldest first, a page at a time; `search` matches anywhere in the name or email, any case. */
export function listMembers(
  ctx: Context,
  args: { first?: number | null; after?: string | null; search?: string | null },
): Connection<MemberRow> {
  const size = pageSize(args.first);
  const afterId = decodeCursor(args.after);
  const search = args.search?.trim() ?? '';
  if (search.length > 100) throw new BadUserInputError('search', 'must be at most 100 characters');
  const pattern = likePattern(search.toLowerCase());
  const rows = ctx.services.db
    .select()
    .from(members)
    .where(
      and(
        afterId === null ? undefined : gt(members.id, afterId),
        search === ''
          ? undefined
          : or(like(sql`lower(${members.name})`, sql`${pattern} escape '\\'`), like(members.email, sql`${pattern} escape '\\'`)),
      ),
    )
    .orderBy(asc(members.id))
    .limit(size + 1)
    .all();
  for (const row of rows) ctx.loaders.memberById.prime(row.id, row);
  return toConnection(rows, size);
}

/**
 * The one rule for every staff action on a member (status, membership): never on oneself, and only on a member of a
 * lower role than one's own (CONTRACT section 5). FORBIDDEN otherwise.
 */
export function assertStaffMayActOn(ctx: Context, target: MemberRow): void {
  const viewer = ctx.viewer!;
  if (target.id === viewer.memberId) throw new ForbiddenError('Staff cannot change their own status or membership');
  if (roleRank(target.role) >= roleRank(viewer.role)) throw new ForbiddenError('Only a member with a higher role can do this to this member');
}

/** Loads the member a mutation names, or NOT_FOUND naming the argument. */
export async function requireMember(ctx: Context, globalId: string, argument: string): Promise<MemberRow> {
  const member = await ctx.loaders.memberById.load(requireIdOf('Member', globalId, argument));
  if (!member) throw new NotFoundError(argument, 'member');
  return member;
}

function refreshed(ctx: Context, member: MemberRow): MemberRow {
  ctx.loaders.memberById.clear(member.id).prime(member.id, member);
  return member;
}

/**
 * Changes a member's role (ADMIN only, by the schema). An admin cannot change their own role, so the gym can never
 * lock itself out by demoting its last admin by accident. Sessions see the new role on their next request; access
 * tokens carry the role they were issued with until they expire (stateless mode).
 */
export async function setRole(ctx: Context, memberId: string, role: RoleName): Promise<MemberRow> {
  const target = await requireMember(ctx, memberId, 'memberId');
  if (target.id === ctx.viewer?.memberId) throw new BadUserInputError('memberId', 'you cannot change your own role');
  const updated = ctx.services.db.update(members).set({ role }).where(eq(members.id, target.id)).returning().get();
  return refreshed(ctx, updated!);
}

/**
 * Suspends (bans) or reinstates a member, under the rule of {@link assertStaffMayActOn}. A suspension ends every session and refresh family of the member at once, and bumps their token
 * version so strict mode refuses their access tokens too.
 */
export async function setMemberStatus(ctx: Context, memberId: string, status: MemberStatusName): Promise<MemberRow> {
  const target = await requireMember(ctx, memberId, 'memberId');
  assertStaffMayActOn(ctx, target);
  const db = ctx.services.db;
  const updated = db.transaction(() => {
    if (status === 'SUSPENDED') endCredentials(ctx.services, target.id);
    return db.update(members).set({ status }).where(eq(members.id, target.id)).returning().get()!;
  });
  return refreshed(ctx, updated);
}
