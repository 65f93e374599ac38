import type { Context } from '../context.js';
import type { MembershipRow } from '../db/data.js';
import type { PlanCodeName } from '../db/schema.js';
import { requireInstant } from './validation.js';
import { assertStaffMayActOn, requireMember } from './members.js';

export type MembershipStatusName = 'ACTIVE' | 'EXPIRED';

/** A membership is active until the instant it is valid until, and expired from then on. */
export function membershipStatus(membership: Pick<MembershipRow, 'validUntil'>, now = new Date()): MembershipStatusName {
  return membership.validUntil.getTime() > now.getTime() ? 'ACTIVE' : 'EXPIRED';
}

/** Gives a member a plan until a date, replacing whatever they had (a date in the past ends it). */
export async function setMembership(
  ctx: Context,
  input: { memberId: string; plan: PlanCodeName; validUntil: Date },
): Promise<MembershipRow> {
  const member = await requireMember(ctx, input.memberId, 'input.memberId');
  assertStaffMayActOn(ctx, member);
  const validUntil = requireInstant(input.validUntil, 'input.validUntil');
  const plan = await ctx.services.data.planByCode(input.plan);
  // The enum makes an unknown code impossible; a missing row means reference data was never loaded.
  if (!plan) throw new Error(`plan ${input.plan} is missing from the plans table`);
  const row = await ctx.services.data.upsertMembership({ memberId: member.id, planId: plan.id, validUntil, updatedAt: new Date() });
  ctx.loaders.membershipByMemberId.clear(member.id).prime(member.id, row);
  return row;
}
