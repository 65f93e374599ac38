import type { MembershipRow } from '../db/data.js';
import type { PlanCodeName } from '../db/schema.js';
import { requireInstant } from './validation.js';
import { assertStaffMayActOn } from './members.js';
import { NotFoundError } from '../shared/errors.js';
import { requireIdOf } from '../ids.js';
import { actingMember, type Actor } from './actor.js';
import type { Services } from './services.js';

export type MembershipStatusName = 'ACTIVE' | 'EXPIRED';

/** A membership is active until the instant it is valid until, and expired from then on. */
export function membershipStatus(membership: Pick<MembershipRow, 'validUntil'>, now = new Date()): MembershipStatusName {
  return membership.validUntil.getTime() > now.getTime() ? 'ACTIVE' : 'EXPIRED';
}

/**
 * Gives a member a plan until a date, replacing whatever they had (a date in the past ends it). The target is read, and
 * the staff rule checked, in the atomic step that writes: a promotion of the target meanwhile comes first or after.
 */
export async function setMembership(
  services: Services,
  actor: Actor,
  input: { memberId: string; plan: PlanCodeName; validUntil: Date },
): Promise<MembershipRow> {
  const memberId = requireIdOf('Member', input.memberId, 'input.memberId');
  const validUntil = requireInstant(input.validUntil, 'input.validUntil');
  const caller = actingMember(actor);
  const plan = await services.data.plans.byCode(input.plan);
  // The enum makes an unknown code impossible; a missing row means reference data was never loaded.
  if (!plan) throw new Error(`plan ${input.plan} is missing from the plans table`);
  const row = await services.data.atomically(
    async (tx) => {
      const member = await tx.members.byId(memberId);
      if (!member) throw new NotFoundError('input.memberId', 'member');
      assertStaffMayActOn(caller, member);
      return tx.memberships.upsert({ memberId, planId: plan.id, validUntil, updatedAt: new Date() });
    },
    { queueOn: [`member:${memberId}`] },
  );
  return row;
}
