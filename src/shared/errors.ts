import { GraphQLError } from 'graphql';

/** Every `extensions.code` Keycard answers with. Clients switch on these; they are part of the contract. */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  EMAIL_TAKEN: 'EMAIL_TAKEN',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  RATE_LIMITED: 'RATE_LIMITED',
  MEMBERSHIP_INACTIVE: 'MEMBERSHIP_INACTIVE',
  OUTSIDE_PLAN_HOURS: 'OUTSIDE_PLAN_HOURS',
  /** The database cannot be reached right now (PostgreSQL down, restarting, or out of connections): try again. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Why a presented token did not authenticate; the only detail a client is ever told. */
export type TokenFailureReason = 'token_expired' | 'invalid_token';

/** The base of every error Keycard means to show a client: its message and extensions are safe to send. */
export class KeycardError extends GraphQLError {
  constructor(message: string, code: ErrorCode, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
    this.name = 'KeycardError';
  }
}

export class UnauthenticatedError extends KeycardError {
  constructor(reason?: TokenFailureReason) {
    super(
      reason ? 'The access token is not valid; sign in again or refresh it' : 'You must be signed in to see this',
      ErrorCode.UNAUTHENTICATED,
      reason ? { reason } : {},
    );
  }
}

export class ForbiddenError extends KeycardError {
  constructor(message = 'You are not allowed to see or do this') {
    super(message, ErrorCode.FORBIDDEN);
  }
}

/** Bad input names the argument (dotted path into input objects, e.g. `input.email`) so a form can point at it. */
export class BadUserInputError extends KeycardError {
  constructor(argument: string, problem: string) {
    super(`${argument}: ${problem}`, ErrorCode.BAD_USER_INPUT, { argument });
  }
}

export class NotFoundError extends KeycardError {
  constructor(argument: string, what: string) {
    super(`${argument}: no such ${what}`, ErrorCode.NOT_FOUND, { argument });
  }
}

export class EmailTakenError extends KeycardError {
  constructor() {
    super('input.email: an account with this email already exists', ErrorCode.EMAIL_TAKEN, { argument: 'input.email' });
  }
}

/** One message for an unknown email, a wrong password and a suspended member, so none can be told apart. */
export class InvalidCredentialsError extends KeycardError {
  constructor() {
    super('invalid email or password', ErrorCode.INVALID_CREDENTIALS);
  }
}

export class RateLimitedError extends KeycardError {
  constructor(
    readonly retryAfterSeconds: number,
    message = 'Too many failed sign-in attempts; try again later',
  ) {
    super(message, ErrorCode.RATE_LIMITED, { retryAfterSeconds });
  }
}

/**
 * The database cannot be reached (see {@link isDatabaseUnavailable}): the client did nothing wrong and may try again.
 * Thrown while authenticating a request it ends the request with HTTP 503 and Retry-After; from a resolver it is that
 * field's error.
 */
export class DatabaseUnavailableError extends KeycardError {
  constructor() {
    super('The gym cannot reach its database right now; try again shortly', ErrorCode.SERVICE_UNAVAILABLE, {
      retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
      http: { status: 503, headers: new Map([['retry-after', String(DATABASE_RETRY_AFTER_SECONDS)]]) },
    });
  }
}

export class MembershipInactiveError extends KeycardError {
  constructor() {
    super('No active membership: the door stays closed', ErrorCode.MEMBERSHIP_INACTIVE);
  }
}

export class OutsidePlanHoursError extends KeycardError {
  constructor(hours: string) {
    super(`Your plan admits you during staffed hours only (${hours})`, ErrorCode.OUTSIDE_PLAN_HOURS);
  }
}

/** What a client is told to wait: about how long a PostgreSQL restart or failover takes. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Socket errors that mean the database server is gone or unreachable, not that a query was wrong. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** node-postgres's own words when it cannot get or keep a connection (it gives these errors no code). */
const CONNECTION_LOST = /timeout exceeded when trying to connect|Connection terminated|Connection ended|Query read timeout|Client has encountered a connection error/;

/**
 * Whether an error (or one it was caused by: Drizzle wraps the driver's) says the database cannot be reached: a socket
 * error, SQLSTATE class 08 (connection exception), 57P01-57P03 (the server shutting down or starting), 53300 (too many
 * connections), 57014 (a statement cancelled at the statement timeout: the database is too busy or locked to answer in
 * time), 40001 or 40P01 still there after the bounded retries (steps racing for the same rows faster than they can
 * take turns), or node-postgres giving up on a connection. Such a request is answered SERVICE_UNAVAILABLE, not a
 * generic internal error: the client did nothing wrong and may try again.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause ?? (e as { originalError?: unknown }).originalError, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code) || ['53300', '57014', '40001', '40P01'].includes(code))) return true;
    if (CONNECTION_LOST.test(e.message)) return true;
  }
  return false;
}

/** Thrown with every problem of the environment at once, each naming its variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A credential was presented and refused; the request goes on anonymously, and guarded fields say why. */
export class CredentialRejected extends Error {
  constructor(readonly reason: TokenFailureReason) {
    super(`credential rejected: ${reason}`);
    this.name = 'CredentialRejected';
  }
}

/** Thrown at start when the key directory holds something that is not a usable signing key. */
export class KeyRingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRingError';
  }
}

/** Thrown while building the schema: the server refuses to start rather than serve a field by mistake. */
export class AuthSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthSchemaError';
  }
}

/** A refresh token that is unknown, spent, revoked or expired: the client must sign in again. */
export class RefreshRejectedError extends KeycardError {
  constructor() {
    super('The refresh token is not valid; sign in again', ErrorCode.UNAUTHENTICATED, { reason: 'invalid_token' });
  }
}

/**
 * A sign-in whose password check came before a password change, logout everywhere or suspension, and whose session or
 * refresh family would come after it: refused, so nothing started by the old credentials outlives their end. Reaches
 * the client as INVALID_CREDENTIALS.
 */
export class CredentialsChangedError extends Error {
  constructor() {
    super('the member\u2019s credentials changed during sign-in');
    this.name = 'CredentialsChangedError';
  }
}
