import { eq, sql } from 'drizzle-orm';
import { checkPasswordPolicy, hashPassword, verifyPassword } from '../auth/passwords.js';
import type { Viewer } from '../auth/viewer.js';
import type { Context } from '../context.js';
import { members, type AuthMethodName, type MemberRow } from '../db/schema.js';
import { BadUserInputError, EmailTakenError, InvalidCredentialsError } from '../errors.js';
import { normalizeEmail, normalizeName } from './validation.js';

/** What signUp and login resolve to; `viewer` is who the request is from now on. */
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

function findByEmail(ctx: Context, email: string): MemberRow | undefined {
  return ctx.services.db.select().from(members).where(eq(sql`lower(${members.email})`, email)).get();
}

/** Whether a database error is SQLite refusing a duplicate in a unique index. */
function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Creates a MEMBER with no plan and signs them in the way `mode` says. */
export async function signUp(ctx: Context, input: SignUpInput): Promise<AuthPayloadModel> {
  const mode = input.mode ?? 'TOKEN';
  const email = normalizeEmail(input.email, 'input.email');
  const name = normalizeName(input.name, 'input.name');
  checkPasswordPolicy(input.password, 'input.password');
  assertModeAvailable(mode, 'input.mode');
  if (findByEmail(ctx, email)) throw new EmailTakenError();
  const passwordHash = await hashPassword(input.password);
  let member: MemberRow;
  try {
    member = ctx.services.db.insert(members).values({ email, name, passwordHash, createdAt: new Date() }).returning().get();
  } catch (err) {
    // Two sign-ups for one email at once: the unique index decides, and the loser hears what it would have.
    if (isUniqueViolation(err)) throw new EmailTakenError();
    throw err;
  }
  return startSignIn(ctx, member, mode);
}

/**
 * Checks email and password under the throttle. Every failure (unknown email, wrong password, suspended member)
 * is the same INVALID_CREDENTIALS, after the same one hash verification.
 */
export async function login(ctx: Context, input: LoginInput): Promise<AuthPayloadModel> {
  const mode = input.mode ?? 'TOKEN';
  const email = normalizeEmail(input.email, 'input.email');
  assertModeAvailable(mode, 'input.mode');
  ctx.services.throttle.begin(email, ctx.clientAddress);
  const member = findByEmail(ctx, email);
  const ok = await verifyPassword(member?.passwordHash ?? null, input.password);
  if (!ok || !member || member.status !== 'ACTIVE') throw new InvalidCredentialsError();
  ctx.services.throttle.succeeded(email);
  return startSignIn(ctx, member, mode);
}

/** Ends this request's session. Idempotent: logging out when signed out is still a success. */
export async function logout(ctx: Context): Promise<boolean> {
  await ctx.session.end();
  if (ctx.viewer?.method === 'SESSION') ctx.viewer = null;
  return true;
}

function assertModeAvailable(mode: AuthMethodName, argument: string): void {
  if (mode === 'TOKEN') throw new BadUserInputError(argument, 'token sign-in is not enabled yet; use SESSION');
}

async function startSignIn(ctx: Context, member: MemberRow, mode: AuthMethodName): Promise<AuthPayloadModel> {
  assertModeAvailable(mode, 'input.mode');
  const { expiresAt } = await ctx.session.start(member.id);
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
