import { RefreshTokens, type IssuedRefreshToken } from '../auth/refresh-tokens.js';
import { checkPasswordPolicy, hashPassword, reserveHashing, verifyPassword } from '../auth/passwords.js';
import type { Viewer } from '../auth/viewer.js';
import type { GymQueries, MemberRow } from '../db/data.js';
import type { AuthMethodName } from '../shared/roles.js';
import type { SessionControl } from '../auth/sessions.js';
import {
  BadUserInputError,
  CredentialsChangedError,
  EmailTakenError,
  ErrorCode,
  InvalidCredentialsError,
  KeycardError,
  RefreshRejectedError,
} from '../shared/errors.js';
import { actingMember, sessionOf, type Actor, type Rows } from './actor.js';
import type { Services } from './services.js';
import { normalizeEmail, normalizeName } from './validation.js';

/** What signUp, login and refresh resolve to; `viewer` is who the caller acts as from now on. */
export interface AuthPayloadModel {
  member: MemberRow;
  method: AuthMethodName;
  accessToken: string | null;
  accessTokenExpiresAt: Date | null;
  refreshToken: string | null;
  refreshTokenExpiresAt: Date | null;
  viewer: Viewer;
}

export interface SignUpInput {
  email: string;
  password: string;
  name: string;
  mode?: AuthMethodName | null;
}

export interface LoginInput {
  email: string;
  password: string;
  mode?: AuthMethodName | null;
}

/**
 * Creates a MEMBER with no plan and signs them in the way `mode` says. Every attempt counts against the client
 * address's sign-up limit, and a taken email costs the same hash as a new account: the answer EMAIL_TAKEN remains (the
 * contract's), but it comes no faster and no more often than any other sign-up.
 */
export async function signUp(services: Services, actor: Actor, input: SignUpInput): Promise<AuthPayloadModel> {
  await services.rateLimits.consume('signUp', actor.clientAddress);
  const mode = input.mode ?? 'TOKEN';
  const email = normalizeEmail(input.email, 'input.email');
  const name = normalizeName(input.name, 'input.name');
  checkPasswordPolicy(input.password, 'input.password');
  const slot = reserveHashing();
  let taken: boolean;
  let passwordHash: string;
  try {
    taken = Boolean(await services.data.members.byEmail(email));
    passwordHash = await hashPassword(input.password, slot);
  } finally {
    slot.release();
  }
  if (taken) throw new EmailTakenError();
  // Two sign-ups for one email at once (on one instance or two): the unique index decides, and the loser hears what
  // it would have.
  const member = await services.data.members.insert({ email, name, passwordHash, createdAt: new Date() });
  if (!member) throw new EmailTakenError();
  return startSignIn(services, actor, member, mode);
}

/**
 * Checks email and password under the throttle. Every failure (unknown email, wrong password, suspended member)
 * is the same INVALID_CREDENTIALS, after the same one hash verification.
 */
export async function login(services: Services, actor: Actor, input: LoginInput): Promise<AuthPayloadModel> {
  const mode = input.mode ?? 'TOKEN';
  const email = normalizeEmail(input.email, 'input.email');
  const slot = reserveHashing();
  let member: MemberRow | undefined;
  let ok: boolean;
  try {
    const attempt = await services.throttle.begin(email, actor.clientAddress);
    // Successes are limited too (each costs a hash and opens a family or session), counted before the hash but after
    // the failure throttle, so a refused client writes nothing more, and a stranger's wrong guesses meet the throttle
    // first.
    try {
      await services.rateLimits.consume('login', email);
    } catch (err) {
      await services.throttle.withdraw(attempt);
      throw err;
    }
    member = await services.data.members.byEmail(email);
    ok = await verifyPassword(member?.passwordHash ?? null, input.password, slot);
  } finally {
    slot.release();
  }
  if (!ok || !member || member.status !== 'ACTIVE') throw new InvalidCredentialsError();
  await services.throttle.succeeded(email);
  return startSignIn(services, actor, member, mode);
}

/**
 * Ends the actor's session, revokes the refresh family of `refreshToken` when one is given, and the caller's own
 * family when a keycard signs out. Idempotent: logging out when signed out, or with a token already revoked, is still
 * a success. Returns who the caller acts as from now on: nobody once their session ended, else as before.
 */
export async function logout(services: Services, actor: Actor, refreshToken?: string | null): Promise<Viewer | null> {
  const viewer = actor.viewer;
  const memberId = viewer?.memberId;
  // A socket opened on this session closes with it (its next check finds no session).
  if ((await sessionOf(actor).end()) && memberId !== undefined) await services.live.credentialsChanged(memberId);
  if (refreshToken) await services.refreshTokens.revokeFamilyOf(refreshToken);
  // Signed out by keycard alone: the login it came from ends too, so its refresh token cannot mint another.
  if (viewer?.method === 'TOKEN' && viewer.familyId) await services.refreshTokens.revokeFamilyOfMember(viewer.familyId, viewer.memberId);
  return viewer?.method === 'SESSION' ? null : viewer;
}

/** Spends a refresh token for a new pair. The new access token carries the member's current role. */
export async function refresh(services: Services, refreshToken: string): Promise<AuthPayloadModel> {
  const memberId = await services.refreshTokens.memberOf(refreshToken);
  if (memberId !== null) await services.rateLimits.consume('refresh', memberId);
  const result = await services.refreshTokens.rotate(refreshToken, { memberId });
  if (!result.ok) {
    if (result.revokedFamily) services.log.warn({ event: 'refresh_token_reuse' }, 'a spent refresh token was presented again: family revoked');
    throw new RefreshRejectedError();
  }
  return tokenPayload(services, result.member, result.refresh);
}

/**
 * Ends every credential of a member, as part of an atomic step: bumps the credential (token) version (strict mode
 * refuses older access tokens at once, and no session or family of an older version is accepted again), deletes their
 * sessions and revokes their refresh families, except `keepFamilyId`, moved to the new version. Returns the new version.
 */
export async function endCredentials(tx: GymQueries, memberId: number, keepFamilyId?: string): Promise<number> {
  const version = (await tx.members.bumpCredentialVersion(memberId)) ?? 0;
  await tx.sessions.deleteOf(memberId);
  // Signing in with the gym ends too: the provider's sessions and grants, and every code and token a partner holds.
  await tx.oidc.deleteOf(memberId);
  await RefreshTokens.revokeAllFor(tx, memberId, keepFamilyId === undefined ? undefined : { familyId: keepFamilyId, credentialVersion: version });
  return version;
}

/** Signs the member out everywhere, the actor's own session included. */
export async function logoutEverywhere(services: Services, actor: Actor): Promise<boolean> {
  const viewer = actingMember(actor);
  await services.data.atomically((tx) => endCredentials(tx, viewer.memberId), { queueOn: [`member:${viewer.memberId}`] });
  await sessionOf(actor).end();
  await services.live.credentialsChanged(viewer.memberId);
  return true;
}

/** The current password given to changePassword does not (or no longer) open the account. */
function wrongCurrentPassword(): KeycardError {
  return new KeycardError('input.currentPassword: the current password is not correct', ErrorCode.INVALID_CREDENTIALS, { argument: 'input.currentPassword' });
}

/**
 * Changes the password after checking the current one. Wrong current passwords are limited per member under their
 * own count (a stolen session must not become a password-guessing oracle, nor lock the owner out of logging in).
 * Every other session and refresh family ends; the caller's own family goes on, and the caller's own session goes on
 * under a new id. `rows` reads the member whose password it checks. Returns who the caller acts as from now on: as
 * before with their session's new deadline, or nobody if their session could not go on.
 */
export async function changePassword(
  services: Services,
  actor: Actor,
  rows: Pick<Rows, 'memberById'>,
  input: { currentPassword: string; newPassword: string },
): Promise<Viewer | null> {
  const viewer = actingMember(actor);
  checkPasswordPolicy(input.newPassword, 'input.newPassword');
  if (input.newPassword === input.currentPassword) throw new BadUserInputError('input.newPassword', 'must differ from the current password');
  const member = await rows.memberById.load(viewer.memberId);
  if (!member) throw new InvalidCredentialsError();
  const slot = reserveHashing();
  try {
    await services.rateLimits.consume('passwordCheck', member.id);
    if (!(await verifyPassword(member.passwordHash, input.currentPassword, slot))) throw wrongCurrentPassword();
  } finally {
    slot.release();
  }
  await services.rateLimits.reset('passwordCheck', member.id);
  const passwordHash = await hashPassword(input.newPassword);
  // Read before the step that ends every session, the caller's own included: whether it is to go on.
  const session = actor.session?.currentId() === undefined ? null : actor.session;
  const version = await services.data.atomically(
    async (tx) => {
      // Only over the credentials that were checked: of two changes racing with the same current password, the second
      // finds the version moved on and is refused, instead of silently overwriting the first.
      if (!(await tx.members.setPasswordIfCurrent(member.id, member.tokenVersion, passwordHash))) return null;
      return endCredentials(tx, member.id, viewer.familyId);
    },
    { queueOn: [`member:${member.id}`] },
  );
  if (version === null) throw wrongCurrentPassword();
  await services.live.credentialsChanged(member.id);
  return session ? resumeSession(session, viewer, version) : viewer;
}

/**
 * The caller's session was ended with the others by a change of credentials: it signs in again under a new id, bound
 * to the new `version`. Returns the viewer it goes on as, or null when it cannot go on.
 */
async function resumeSession(session: SessionControl, viewer: Viewer, version: number): Promise<Viewer | null> {
  try {
    const { expiresAt } = await session.start(viewer.memberId, version);
    return { ...viewer, expiresAt };
  } catch (err) {
    // Another change of credentials came in between: the password is changed, and this session ended with the rest.
    if (!(err instanceof CredentialsChangedError)) throw err;
    return null;
  }
}

/**
 * Starts the family or session of a sign-in whose password was checked against `member` as read then. If the
 * member's credentials ended meanwhile (a password change, a suspension, logout everywhere), the sign-in fails as a
 * wrong password would: it was checked against credentials that no longer exist.
 */
async function startSignIn(services: Services, actor: Actor, member: MemberRow, mode: AuthMethodName): Promise<AuthPayloadModel> {
  try {
    return await startBoundSignIn(services, actor, member, mode);
  } catch (err) {
    if (err instanceof CredentialsChangedError) throw new InvalidCredentialsError();
    throw err;
  }
}

async function startBoundSignIn(services: Services, actor: Actor, member: MemberRow, mode: AuthMethodName): Promise<AuthPayloadModel> {
  if (mode === 'TOKEN') return tokenPayload(services, member, await services.refreshTokens.startFamily(member.id, member.tokenVersion));
  const { expiresAt } = await sessionOf(actor).start(member.id, member.tokenVersion);
  return {
    member,
    method: 'SESSION',
    accessToken: null,
    accessTokenExpiresAt: null,
    refreshToken: null,
    refreshTokenExpiresAt: null,
    viewer: { memberId: member.id, role: member.role, method: 'SESSION', expiresAt, scopes: [] },
  };
}

function tokenPayload(services: Pick<Services, 'accessTokens'>, member: MemberRow, refresh: IssuedRefreshToken): AuthPayloadModel {
  const access = services.accessTokens.issue(member, refresh.familyId);
  return {
    member,
    method: 'TOKEN',
    accessToken: access.token,
    accessTokenExpiresAt: access.expiresAt,
    refreshToken: refresh.token,
    refreshTokenExpiresAt: refresh.expiresAt,
    viewer: { memberId: member.id, role: member.role, method: 'TOKEN', expiresAt: access.expiresAt, scopes: [], familyId: refresh.familyId },
  };
}
