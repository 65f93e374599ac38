import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, Kind, parse, visit, type GraphQLFormattedError, type Source } from 'graphql';
import { DatabaseUnavailableError, ErrorCode, isDatabaseUnavailable, KeycardError } from './errors.js';
import { HIDDEN_LIMIT_MESSAGE, OPERATION_LIMITS } from './limits.js';

/*
 * What a client is told of an error, on every transport (the GraphQL pipeline hands the same formatter to Apollo and
 * to the socket server): Keycard's own errors and the framework's refusals as they are, clipped; a literal of the
 * wrong type as bad input naming its argument; anything else logged and masked.
 */

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

export interface FormatErrorOptions {
  /** Development: a refusal at the token limit says so. Production: it says only that the operation is too large. */
  exposeLimits: boolean;
  /** Production: no message suggests a name of the schema ("Did you mean"), whichever step wrote it. */
  hideSuggestions: boolean;
}

/**
 * Apollo's `formatError`: errors Keycard raised on purpose and the framework's own request errors pass through;
 * anything else (a bug, a database failure, a non-null violation) is logged in full and reaches the client only
 * as a generic INTERNAL_SERVER_ERROR, so no stack, SQL or internal message ever leaks.
 */
export function createFormatError(log: (error: unknown) => void, options: FormatErrorOptions) {
  const clipped = options.hideSuggestions ? (f: GraphQLFormattedError) => withClippedMessage(withoutSuggestion(f)) : withClippedMessage;
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
    if (passes) return clipped(withoutStack(asBadUserInput(formatted, error) ?? formatted));
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

/**
 * A message without graphql-js's suggestion, which it always puts last (" Did you mean "email"?"). Validation leaves it
 * out itself (`hideSuggestions`), but Apollo does not pass that option to execution, where coercing a variable suggests
 * enum values and input fields. Found by position, not by a pattern: a message can repeat kilobytes of the client's
 * value, and a backtracking pattern over it would take time the client chooses.
 */
function withoutSuggestion(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const { message } = formatted;
  const at = message.endsWith('?') ? message.lastIndexOf('Did you mean') : -1;
  if (at < 0) return formatted;
  return { ...formatted, message: message.slice(0, at > 0 && message[at - 1] === ' ' ? at - 1 : at) };
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
