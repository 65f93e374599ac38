import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { Kind, parse, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { ErrorCode } from '../../../src/shared/errors.js';
import type { FuzzRequest, FuzzResponse } from './http.js';

/**
 * What every answer of the server must be, whatever was sent: judged from the outside, on the bytes that came back.
 */

/** Every `extensions.code` a client may see: Keycard's catalogue and the framework's own request errors. */
export const KNOWN_CODES: ReadonlySet<string> = new Set([
  ...Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

const ROOT = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');

/** Words of a stack trace, an internal error or a file path: none of them may reach a client. */
const LEAKS: [string, RegExp][] = [
  ['a stack frame', /\bat (?:async )?[\w$.<>[\] ]*\(?(?:file:\/\/|node:|\/)[^\s"]*:\d+:\d+/],
  ['the source tree', new RegExp(ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))],
  ['node_modules', /node_modules/],
  ['node internals', /node:internal/],
  ['a SQLite error', /SQLITE_|SqliteError/],
  ['a JavaScript error', /Cannot read propert|TypeError|RangeError|ReferenceError|SyntaxError:|is not a function|Maximum call stack/],
  ['a stack trace', /"stacktrace"/],
  ['an object printed as text', /\[object Object\]/],
];

/** The largest answer that carries no data: 50 variable errors or 100 validation errors of a few lines each. */
const MAX_REFUSAL_CHARS = 64_000;

/** A parsed JSON body, or undefined. */
export function bodyOf(response: FuzzResponse): Record<string, unknown> | undefined {
  try {
    const body = JSON.parse(response.text) as unknown;
    return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Everything wrong with one answer: a 5xx, a leak, a shape that is not a GraphQL response, an unknown error code, a
 * 401 without its challenge. An empty list is a good answer. `sent` is the headers as sent (credentials included),
 * `secrets` the real credentials among them (a token, a session cookie), which no answer may repeat.
 */
export function problemsWith(request: FuzzRequest, sent: Record<string, string>, secrets: string[], response: FuzzResponse): string[] {
  const problems: string[] = [];
  const { status, headers, text } = response;
  if (status >= 500) problems.push(`status ${status}`);
  for (const [what, pattern] of LEAKS) if (pattern.test(text)) problems.push(`the body shows ${what}: ${excerpt(text, pattern)}`);
  for (const secret of secrets) if (text.includes(secret)) problems.push('the body repeats a credential the request carried');
  if (headers['x-powered-by']) problems.push('X-Powered-By is set');
  // The provider's userinfo endpoint answers 401 with its challenge to a request without a token, as OAuth says.
  const providerRoute = /^\/(oidc|interaction)\//.test(request.path);
  if (status === 401) {
    if (!sent.authorization && !providerRoute) problems.push('401 to a request that presented no bearer token');
    if (!String(headers['www-authenticate'] ?? '').startsWith('Bearer')) problems.push('401 without a Bearer challenge');
  }
  // A HEAD answer has no body; Node's own HTTP parser refuses a malformed or oversized head with an empty one.
  if (request.method === 'HEAD') return problems;
  const contentType = String(headers['content-type'] ?? '');
  if (text === '' && !contentType && (status === 400 || status === 431)) return problems;
  const route = request.path.split('?', 1)[0]!;
  // The OpenID Provider and the gym's sign-in pages speak to browsers and OAuth clients: HTML pages, redirects and
  // OAuth's own JSON errors are theirs to answer with; what holds for them is what held above (no 5xx, no leak).
  if (providerRoute) return problems;
  // Sandbox's page, in development, for a browser that asks for HTML.
  if (contentType.startsWith('text/html')) {
    if (!(request.method === 'GET' && route === '/graphql' && status === 200)) problems.push(`an HTML answer (${status}) to ${request.method} ${route}`);
    return problems;
  }
  const body = bodyOf(response);
  if (!body) return [...problems, `not a JSON object (${status}, ${contentType}): ${text.slice(0, 200)}`];
  // Non-GraphQL routes (health, keys, discovery) answer 200 with their own JSON.
  if (status === 200 && route !== '/graphql') return problems;
  const errors = body.errors;
  if (errors !== undefined || status >= 400) {
    if (!Array.isArray(errors) || errors.length === 0) return [...problems, `status ${status} without errors: ${text.slice(0, 200)}`];
    for (const error of errors as { message?: unknown; extensions?: { code?: unknown } }[]) {
      if (typeof error?.message !== 'string') problems.push(`an error without a message: ${JSON.stringify(error).slice(0, 200)}`);
      const code = error?.extensions?.code;
      if (typeof code !== 'string' || !KNOWN_CODES.has(code)) problems.push(`error code ${String(code)}: ${String(error?.message).slice(0, 200)}`);
    }
  } else if (!('data' in body)) {
    problems.push(`neither data nor errors: ${text.slice(0, 200)}`);
  }
  // A refusal answers in a few kilobytes, however much the request held: the client never sizes the answer.
  if (!didSomething(response) && text.length > MAX_REFUSAL_CHARS) problems.push(`a refusal of ${text.length} characters`);
  if (route === '/graphql' && headers['cache-control'] !== 'no-store') problems.push(`Cache-Control ${String(headers['cache-control'])} on /graphql`);
  return problems;
}

function excerpt(text: string, pattern: RegExp): string {
  const at = text.search(pattern);
  return JSON.stringify(text.slice(Math.max(0, at - 80), at + 120));
}

/** True when the request was executed (its answer has `data`, even null): resolvers ran and may have changed things. */
export function ran(response: FuzzResponse): boolean {
  const body = bodyOf(response);
  return !!body && 'data' in body;
}

/** True when some field of the answer came back with a value: something may have been done (and may need undoing). */
export function didSomething(response: FuzzResponse): boolean {
  const data = bodyOf(response)?.data;
  return !!data && typeof data === 'object' && Object.values(data).some((v) => v !== null);
}

/**
 * True when the request must have left the database as it was: nothing executed (no `data` at all: refused at the
 * HTTP layer, at parsing, validation or variable coercion), a query (queries never write), or a mutation whose
 * every root field failed at the root, so no mutation resolver returned. A root field that returned and then failed
 * lower down (a field of its payload) did its work, and legitimately changed things.
 */
export function mustLeaveDatabaseUnchanged(request: FuzzRequest, response: FuzzResponse): boolean {
  // An authorization request stores its interaction, a sign-in page may count a login: not refusals to hold to that.
  if (/^\/(oidc|interaction)\//.test(request.path)) return false;
  const body = bodyOf(response);
  if (!body || !('data' in body)) return true;
  if (request.document === undefined) return false;
  let document: DocumentNode;
  try {
    document = parse(request.document);
  } catch {
    return false;
  }
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = request.operationName ? operations.find((o) => o.name?.value === request.operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation) return false;
  if (operation.operation === 'query') return true;
  if (operation.operation !== 'mutation') return false;
  const failedAtRoot = new Set(
    ((body.errors ?? []) as { path?: unknown[] }[]).flatMap((e) => (Array.isArray(e.path) && e.path.length === 1 ? [String(e.path[0])] : [])),
  );
  const keys = rootKeys(operation.selectionSet, document);
  return keys !== undefined && keys.every((key) => failedAtRoot.has(key));
}

/** The response keys of an operation's root fields (through fragments), or undefined when they cannot be told. */
function rootKeys(selectionSet: SelectionSetNode, document: DocumentNode, seen = new Set<string>()): string[] | undefined {
  const keys: string[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') keys.push(selection.alias?.value ?? selection.name.value);
      continue;
    }
    let inner: SelectionSetNode | undefined;
    if (selection.kind === Kind.INLINE_FRAGMENT) inner = selection.selectionSet;
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const name = selection.name.value;
      inner = document.definitions.find((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === name)?.selectionSet;
    }
    const more = inner && rootKeys(inner, document, seen);
    if (!more) return undefined;
    keys.push(...more);
  }
  return keys;
}

/**
 * A fingerprint of the database: each table's row count and a hash of its rows, throttle counters aside (refused
 * sign-ins are meant to count), and a session's activity columns aside (reading a session slides its idle deadline).
 */
export class DatabaseFingerprint {
  private readonly tables: { name: string; rows: Database.Statement }[];

  constructor(sqlite: Database.Database, options: { ignoreTables: string[]; ignoreColumns: Record<string, string[]> }) {
    const names = sqlite
      .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '__drizzle%' order by name")
      .pluck()
      .all() as string[];
    this.tables = names
      .filter((name) => !options.ignoreTables.includes(name))
      .map((name) => {
        const ignored = options.ignoreColumns[name] ?? [];
        const columns = (sqlite.prepare(`pragma table_info("${name}")`).all() as { name: string }[]).map((c) => c.name).filter((c) => !ignored.includes(c));
        return { name, rows: sqlite.prepare(`select ${columns.map((c) => `"${c}"`).join(', ')} from "${name}" order by rowid`).raw() };
      });
  }

  /** Table names, as covered. */
  get tableNames(): string[] {
    return this.tables.map((t) => t.name);
  }

  take(): Map<string, string> {
    return new Map(
      this.tables.map(({ name, rows }) => {
        const all = rows.all();
        return [name, `${all.length} rows, ${createHash('sha256').update(JSON.stringify(all)).digest('hex').slice(0, 16)}`];
      }),
    );
  }

  /** The tables that differ between two fingerprints, each with what it was and what it became. */
  static changes(before: Map<string, string>, after: Map<string, string>): string[] {
    return [...before].filter(([name, was]) => after.get(name) !== was).map(([name, was]) => `${name}: ${was} -> ${after.get(name)}`);
  }
}
