/**
 * The names every part of Keycard shares, the pool included, kept free of any import so that a service that never
 * touches the gym's database can still use the directive and the token rules.
 */
export const ROLES = ['MEMBER', 'STAFF', 'ADMIN'] as const;
export type RoleName = (typeof ROLES)[number];

export const AUTH_METHODS = ['SESSION', 'TOKEN'] as const;
export type AuthMethodName = (typeof AUTH_METHODS)[number];

const RANK: Record<RoleName, number> = { MEMBER: 1, STAFF: 2, ADMIN: 3 };

/** Roles include the ones below them: ADMIN may do whatever STAFF may, STAFF whatever MEMBER may. */
export function roleAtLeast(role: RoleName, required: RoleName): boolean {
  return RANK[role] >= RANK[required];
}

export function roleRank(role: RoleName): number {
  return RANK[role];
}
