import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { members, type MemberRow } from '../db/schema.js';
import { CredentialsChangedError } from '../errors.js';

/**
 * The one rule for anything bound to a member's credentials (a session, a refresh family, a strict-mode access
 * token): it holds while the member is active and their credential version is still the one it was bound to. A
 * password change, logout everywhere and a suspension bump the version.
 */
export function stillHolds<M extends Pick<MemberRow, 'status' | 'tokenVersion'>>(member: M | null | undefined, version: number | undefined): member is M {
  return member !== null && member !== undefined && member.status === 'ACTIVE' && member.tokenVersion === version;
}

/**
 * The same rule, read inside the transaction that starts a family or a session: CredentialsChangedError unless the
 * member still holds `version`, so an end of credentials either comes first (and the start is refused) or after (and
 * ends what was started).
 */
export function assertStillHolds(tx: Pick<Db, 'select'>, memberId: number, version: number | undefined): void {
  const member = tx.select({ status: members.status, tokenVersion: members.tokenVersion }).from(members).where(eq(members.id, memberId)).get();
  if (!stillHolds(member, version)) throw new CredentialsChangedError();
}
