import type { AuthMethodName, RoleName } from '../db/schema.js';
import type { TokenFailureReason } from '../errors.js';

/** Who a request acts for, once a strategy has vouched for it. */
export interface Viewer {
  memberId: number;
  role: RoleName;
  method: AuthMethodName;
  /** When this credential stops working unless renewed. */
  expiresAt: Date;
  /** Granted scopes: only partner tokens carry any. */
  scopes: readonly string[];
  /** For a token viewer: the refresh family (one per login) the access token was issued in. */
  familyId?: string;
}

/** What Query.viewer resolves from: the request's viewer, or nobody. */
export interface ViewerModel {
  viewer: Viewer | null;
}

/** Why a credential the request presented was refused, kept so guarded fields can say so (and only so much). */
export interface AuthFailure {
  reason: TokenFailureReason;
}

const RANK: Record<RoleName, number> = { MEMBER: 1, STAFF: 2, ADMIN: 3 };

/** Roles include the ones below them: ADMIN may do whatever STAFF may, STAFF whatever MEMBER may. */
export function roleAtLeast(role: RoleName, required: RoleName): boolean {
  return RANK[role] >= RANK[required];
}

export function roleRank(role: RoleName): number {
  return RANK[role];
}
