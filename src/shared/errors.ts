import { GraphQLError, Kind, parse, visit, type GraphQLFormattedError, type Source } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { HIDDEN_LIMIT_MESSAGE, OPERATION_LIMITS } from './limits.js';

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

/** graphql-js's words when a document passes its `maxTokens` (sic: "more that" in graphql 16). */
const TOKEN_LIMIT_ABORT = /^Syntax Error: Document contains more th(?:at|an) \d+ tokens\. Parsing aborted\.$/;

/** Codes raised by Apollo Server and graphql-js themselves, safe to pass on as they are. */
const FRAMEWORK_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

const PASSING_CODES = new Set<string>([
  ...FRAMEWORK_CODES,
  ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR),
]);

/** graphql-js's words for a literal argument value of the wrong type or shape (ValuesOfCorrectTypeRule). */
const BAD_LITERAL =
  /^(Value ".*" does not exist in ".*" enum|Enum ".*" cannot represent|Expected value of type|Field ".*" of required type ".*" was not provided|Field ".*" is not defined by type|\w+ cannot represent)/;

/** Every argument and input field of a document with its source range and dotted path, outermost first. */
type ArgumentRanges = { start: number; end: number; path: string }[];

/**
 * The argument ranges of each document, made once per parsed source however many errors point into it: an operation
 * with a hundred bad literals costs one pass over its text, not a hundred.
 */
const rangesBySource = new WeakMap<Source, ArgumentRanges>();

function argumentRanges(source: Source): ArgumentRanges {
  let ranges = rangesBySource.get(source);
  if (ranges) return ranges;
  ranges = [];
  const found = ranges;
  const chain: string[] = [];
  // The source already parsed within the token limit (the parser refuses anything longer), so this pass is bounded.
  visit(parse(source, { maxTokens: OPERATION_LIMITS.tokens }), {
    enter(node) {
      if ((node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) && node.loc) {
        chain.push(node.name.value);
        found.push({ start: node.loc.start, end: node.loc.end, path: chain.join('.') });
      }
    },
    leave(node) {
      if (node.kind === Kind.ARGUMENT || node.kind === Kind.OBJECT_FIELD) chain.pop();
    },
  });
  rangesBySource.set(source, ranges);
  return ranges;
}

/** The argument a literal value sits in, as a dotted path (`input.plan`): the innermost range holding its position. */
function argumentAt(error: GraphQLError): string | undefined {
  const position = error.nodes?.[0]?.loc?.start;
  if (position === undefined || !error.source) return undefined;
  let found: string | undefined;
  try {
    for (const range of argumentRanges(error.source)) if (range.start <= position && position < range.end) found = range.path;
  } catch {
    return undefined;
  }
  return found;
}

/**
 * A literal of the wrong type in the operation (`plan: GOLD`) is bad input, as the same value in a variable is:
 * BAD_USER_INPUT naming the argument, rather than a generic validation failure.
 */
function asBadUserInput(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError | undefined {
  if (formatted.extensions?.code !== 'GRAPHQL_VALIDATION_FAILED' || !(error instanceof GraphQLError) || !BAD_LITERAL.test(error.message)) {
    return undefined;
  }
  const argument = argumentAt(error);
  return { ...formatted, extensions: { code: ErrorCode.BAD_USER_INPUT, ...(argument ? { argument } : {}) } };
}

/**
 * Apollo's `formatError`: errors Keycard raised on purpose and the framework's own request errors pass through;
 * anything else (a bug, a database failure, a non-null violation) is logged in full and reaches the client only
 * as a generic INTERNAL_SERVER_ERROR, so no stack, SQL or internal message ever leaks.
 */
export function createFormatError(log: (error: unknown) => void, options: { exposeLimits: boolean }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    // The parser stops at the token limit (nothing longer is parsed, let alone validated): that is the limit's refusal.
    if (formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED' && TOKEN_LIMIT_ABORT.test(formatted.message)) {
      const message = options.exposeLimits ? `Token limit of ${OPERATION_LIMITS.tokens} exceeded.` : HIDDEN_LIMIT_MESSAGE;
      return { message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } };
    }
    const original = unwrapResolverError(error);
    if (isFrameworkRefusal(formatted, original)) return { message: clip(formatted.message), extensions: { code: 'BAD_REQUEST' } };
    // graphql-js stops coercing variables after 50 errors and says so in an error of its own, with no code and no node
    // (so Apollo does not mark it as it marks the others): it is the last of the client's bad-input errors.
    if (original instanceof GraphQLError && !formatted.path && formatted.message === VARIABLE_ERROR_LIMIT) {
      return { message: formatted.message, extensions: { code: ErrorCode.BAD_USER_INPUT } };
    }
    const code = formatted.extensions?.code;
    const passes =
      original instanceof KeycardError ||
      (original instanceof GraphQLError && typeof code === 'string' && PASSING_CODES.has(code));
    if (passes) return withClippedMessage(withoutStack(asBadUserInput(formatted, error) ?? formatted));
    log(original);
    if (isDatabaseUnavailable(original)) {
      const { message, extensions } = new DatabaseUnavailableError();
      return { message, ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: extensions.code, retryAfterSeconds: extensions.retryAfterSeconds } };
    }
    return {
      message: 'Internal server error',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
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

/** graphql-js's words when a request's variables hold more errors than it reports (50). */
const VARIABLE_ERROR_LIMIT = 'Too many errors processing variables, error limit reached. Execution aborted.';

/**
 * The longest error message a client is sent. graphql-js repeats the offending value in its messages ("Variable
 * "$input" got invalid value { ...every field... }; ..."), once per error and up to 50 errors a request: unclipped, an
 * 80 kB variable came back as a 4 MB answer. Keycard's own messages are far shorter than this.
 */
const MAX_MESSAGE_CHARS = 500;

/** A long message's start (what it is about) and end (what is wrong), without the middle. */
function clip(message: string): string {
  if (message.length <= MAX_MESSAGE_CHARS) return message;
  const half = MAX_MESSAGE_CHARS / 2 - 1;
  // Cut between characters, never inside a surrogate pair.
  const head = Array.from(message.slice(0, half + 1)).slice(0, -1).join('');
  const tail = Array.from(message.slice(-half - 1)).slice(1).join('');
  return `${head}…${tail}`;
}

function withClippedMessage(formatted: GraphQLFormattedError): GraphQLFormattedError {
  return formatted.message.length > MAX_MESSAGE_CHARS ? { ...formatted, message: clip(formatted.message) } : formatted;
}

/**
 * Apollo refuses a few malformed requests (a persisted-query hash that does not match its query, an unknown persisted
 * query version) with HTTP 400 but no code, which would read as a server fault: logged as an error on every such
 * request, and answered INTERNAL_SERVER_ERROR. A request-level error the framework itself marked as the client's
 * (a 4xx status) is a bad request; its message is the framework's own fixed text.
 */
function isFrameworkRefusal(formatted: GraphQLFormattedError, original: unknown): boolean {
  if (!(original instanceof GraphQLError) || original instanceof KeycardError || formatted.path) return false;
  if (formatted.extensions?.code !== undefined && formatted.extensions.code !== ErrorCode.INTERNAL_SERVER_ERROR) return false;
  const status = (original.extensions?.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function withoutStack(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (!formatted.extensions || !('stacktrace' in formatted.extensions)) return formatted;
  const { stacktrace: _drop, ...extensions } = formatted.extensions;
  return { ...formatted, extensions };
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
