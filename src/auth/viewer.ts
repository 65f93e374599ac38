import type { Loaders } from '../db/loaders.js';
import type { TokenFailureReason } from '../shared/errors.js';
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
  /** For a session viewer: when the member gave their password for this session (its login). */
  signedInAt?: Date;
}

/** What Query.viewer resolves from: the request's viewer, or nobody. */
export interface ViewerModel {
  viewer: Viewer | null;
}

/** Why a credential the request presented was refused, kept so guarded fields can say so (and only so much). */
export interface AuthFailure {
  reason: TokenFailureReason;
}

/** What the gym lends its strategies. */
export interface StrategyDeps {
  /** The request's loaders: a strategy reads the member through them, so `me` reuses the row. */
  loaders: Loaders;
  /**
   * Whether this use counts as the member's activity (a session's idle deadline moves): true for a request, and for a
   * socket only while it has a live subscription; a socket's own checks on its timers are not activity.
   */
  recordActivity?: boolean;
}

/** A gym strategy. */
export type GymStrategy = Strategy<Viewer, StrategyDeps>;
