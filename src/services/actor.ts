import type { SessionControl } from '../auth/sessions.js';
import type { Viewer } from '../auth/viewer.js';
import type { CheckInPageKey } from '../db/loaders.js';
import type { CheckInRow, MemberRow, MembershipRow, PlanRow } from '../db/data.js';
import { UnauthenticatedError } from '../shared/errors.js';

/**
 * Who asks a service for something: the member (or nobody), from where, and, where signing in or out may change it,
 * the control of their browser's session. A GraphQL request's context is one; so is the OpenID sign-in page's.
 */
export interface Actor {
  readonly viewer: Viewer | null;
  /** The client's address as the per-address limits count it (an IPv6 address grouped by its /64). */
  readonly clientAddress: string;
  /** The session a sign-in starts and a sign-out ends: absent where there is none (a socket). */
  readonly session?: SessionControl;
}

/** One read by key: a DataLoader is one. */
export interface ByKey<K, V> {
  load(key: K): Promise<V>;
}

/**
 * The rows services read by key. Over GraphQL, the request's loaders (batched across fields, and cached for the
 * request, which keeps them fresh when a mutation changes a row); anywhere else, any reader of the database.
 */
export interface Rows {
  memberById: ByKey<number, MemberRow | null>;
  membershipByMemberId: ByKey<number, MembershipRow | null>;
  planById: ByKey<number, PlanRow | null>;
  /** One member's check-ins, newest first: `limit` rows before `beforeId`. */
  checkInPage: ByKey<CheckInPageKey, CheckInRow[]>;
}

/**
 * The member an action is for. Every service that needs one is reached past a guard that demands a signed-in member,
 * so none is only a caller that skipped the guard: refused as anyone signed out is.
 */
export function actingMember(actor: Actor): Viewer {
  if (!actor.viewer) throw new UnauthenticatedError();
  return actor.viewer;
}

/** The session an actor's sign-in starts or sign-out ends; a transport without one never offers these. */
export function sessionOf(actor: Actor): SessionControl {
  if (!actor.session) throw new Error('no session to start or end here: sign in and out over HTTP');
  return actor.session;
}
