import type { GymQueries, MemberRow } from '../db/data.js';
import { CredentialsChangedError } from '../shared/errors.js';

/**
 * The one rule for anything bound to a member's credentials (a session, a refresh family, a strict-mode access
 * token): it holds while the member is active and their credential version is still the one it was bound to. A
 * password change, logout everywhere and a suspension bump the version.
 */
export function stillHolds<M extends Pick<MemberRow, 'status' | 'tokenVersion'>>(member: M | null | undefined, version: number | undefined): member is M {
  return member !== null && member !== undefined && member.status === 'ACTIVE' && member.tokenVersion === version;
}

/**
 * The same rule, read inside the atomic step that starts a family or a session: CredentialsChangedError unless the
 * member still holds `version`, so an end of credentials either comes first (and the start is refused) or after (and
 * ends what was started).
 */
export async function assertStillHolds(tx: GymQueries, memberId: number, version: number | undefined): Promise<void> {
  const member = await tx.members.standing(memberId);
  if (!stillHolds(member, version)) throw new CredentialsChangedError();
}
