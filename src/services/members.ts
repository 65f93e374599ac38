import type { Viewer } from '../auth/viewer.js';
import type { GymQueries, MemberRow } from '../db/data.js';
import type { MemberStatusName } from '../db/schema.js';
import { roleAtLeast, roleRank, type RoleName } from '../shared/roles.js';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../shared/errors.js';
import { requireIdOf } from '../ids.js';
import { actingMember, type Actor } from './actor.js';
import { endCredentials } from './auth.js';
import { decodeCursor, pageSize, toConnection, type Connection } from './pagination.js';
import type { Services } from './services.js';
import { freeText } from './validation.js';

/** `%` and `_` typed into a search box mean themselves, not wildcards. */
function likePattern(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/** Every member, oldest first, a page at a time; `search` matches anywhere in the name or email, any case. */
export async function listMembers(
  services: Services,
  args: { first?: number | null; after?: string | null; search?: string | null },
): Promise<Connection<MemberRow>> {
  const size = pageSize(args.first);
  const afterId = decodeCursor(args.after);
  const search = freeText(args.search ?? '', 'search', 100);
  const pattern = search === '' ? null : likePattern(search.toLowerCase());
  const rows = await services.data.members.list({ afterId, pattern, limit: size + 1 });
  return toConnection(rows, size);
}

/**
 * The one rule for every staff action on a member (status, membership): never on oneself, and only on a member of a
 * lower role than one's own (schema/README.md). FORBIDDEN otherwise. `actorRole` is the caller's role: the
 * keycard's for a membership, the database's for the privileged actions.
 */
export function assertStaffMayActOn(caller: Viewer, target: Pick<MemberRow, 'id' | 'role'>, actorRole: RoleName = caller.role): void {
  if (target.id === caller.memberId) throw new ForbiddenError('Staff cannot change their own status or membership');
  if (roleRank(target.role) >= roleRank(actorRole)) throw new ForbiddenError('Only a member with a higher role can do this to this member');
}

/**
 * The caller's role as the database has it now, for the privileged actions (setRole, setMemberStatus): the one
 * deliberate exception to trusting a keycard's claims, so a demotion or suspension leaves no minutes of power behind.
 * FORBIDDEN when the caller no longer has `needed`.
 */
async function assertCallerStillHas(tx: GymQueries, callerId: number, needed: RoleName): Promise<RoleName> {
  const caller = await tx.members.standing(callerId);
  if (!caller || caller.status !== 'ACTIVE' || !roleAtLeast(caller.role, needed)) throw new ForbiddenError(`Requires role ${needed}`);
  return caller.role;
}

/** Refuses a change after which the gym would have no active ADMIN left: nothing in the API could undo it. */
async function assertAnAdminRemains(tx: GymQueries, target: Pick<MemberRow, 'id' | 'role' | 'status'>, after: { role: RoleName; status: MemberStatusName }): Promise<void> {
  const wasActiveAdmin = target.role === 'ADMIN' && target.status === 'ACTIVE';
  const staysActiveAdmin = after.role === 'ADMIN' && after.status === 'ACTIVE';
  if (!wasActiveAdmin || staysActiveAdmin) return;
  if ((await tx.members.countActiveAdminsBesides(target.id)) === 0) throw new ForbiddenError('The gym must keep at least one active ADMIN');
}

/** The target as it is now, read inside the transaction that changes it: NOT_FOUND when there is none. */
async function currentRow(tx: GymQueries, id: number): Promise<MemberRow> {
  const row = await tx.members.byId(id);
  if (!row) throw new NotFoundError('memberId', 'member');
  return row;
}

/**
 * Changes a member's role (ADMIN only, by the schema, and by the caller's role in the database now). An admin cannot
 * change their own role, and no change may leave the gym without an active ADMIN: both checked in the transaction
 * that writes. Sessions see the new role on their next request; access tokens carry the role they were issued with
 * until they expire (stateless mode), but never use it for this or setMemberStatus.
 */
export async function setRole(services: Services, actor: Actor, memberId: string, role: RoleName): Promise<MemberRow> {
  const targetId = requireIdOf('Member', memberId, 'memberId');
  if (targetId === actor.viewer?.memberId) throw new BadUserInputError('memberId', 'you cannot change your own role');
  const callerId = actingMember(actor).memberId;
  const updated = await services.data.atomically(async (tx) => {
    const now = await currentRow(tx, targetId);
    await assertCallerStillHas(tx, callerId, 'ADMIN');
    await assertAnAdminRemains(tx, now, { role, status: now.status });
    return (await tx.members.update(targetId, { role }))!;
  });
  // Their sockets are checked at once: a subscription the new role does not allow ends (sessions, strict tokens).
  await services.live.credentialsChanged(targetId);
  return updated;
}

/**
 * Suspends (bans) or reinstates a member, under the rule of {@link assertStaffMayActOn}. A suspension ends every session and refresh family of the member at once, and bumps their token
 * version so strict mode refuses their access tokens too.
 */
export async function setMemberStatus(services: Services, actor: Actor, memberId: string, status: MemberStatusName): Promise<MemberRow> {
  const targetId = requireIdOf('Member', memberId, 'memberId');
  const caller = actingMember(actor);
  const updated = await services.data.atomically(
    async (tx) => {
      const now = await currentRow(tx, targetId);
      const actorRole = await assertCallerStillHas(tx, caller.memberId, 'STAFF');
      assertStaffMayActOn(caller, now, actorRole);
      await assertAnAdminRemains(tx, now, { role: now.role, status });
      if (status === 'SUSPENDED') await endCredentials(tx, targetId);
      return (await tx.members.update(targetId, { status }))!;
    },
    { queueOn: [`member:${targetId}`] },
  );
  await services.live.credentialsChanged(targetId);
  return updated;
}
