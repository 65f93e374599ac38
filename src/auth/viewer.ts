import type { Loaders } from '../db/loaders.js';
import type { TokenFailureReason } from '../errors.js';
import type { AuthMethodName, RoleName } from '../shared/roles.js';
import type { Strategy } from '../shared/strategies.js';

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

/** A gym strategy: it may read members through the request's loaders (so `me` reuses the row). */
export type GymStrategy = Strategy<Viewer, { loaders: Loaders }>;
