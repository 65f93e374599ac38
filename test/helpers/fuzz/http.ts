import http from 'node:http';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { junk, weirdString } from './values.js';
import type { GeneratedOperation } from './operations.js';

/**
 * Requests as bytes on the wire, sent with node:http rather than fetch: fetch normalises paths (`/graphql/../x`),
 * refuses some methods and sets headers of its own, and the fuzzer wants to send exactly what it generated.
 */

export interface FuzzRequest {
  method: string;
  /** Sent as is, query string included. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** The GraphQL document inside, when the request carries one the fuzzer made (to judge what it may change). */
  document?: string;
  operationName?: string;
}

export interface FuzzResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** The body limit (schema/README.md, "HTTP surface"): bodies are generated on both sides of it. */
const BODY_LIMIT = 100_000;

/** A generated operation as a client sends it: JSON over POST mostly, the query string over GET sometimes. */
export function operationRequestArb(operations: fc.Arbitrary<GeneratedOperation>): fc.Arbitrary<FuzzRequest> {
  const transport = fc.oneof({ weight: 7, arbitrary: fc.constant('POST' as const) }, { weight: 1, arbitrary: fc.constant('GET' as const) });
  const preflight = fc.oneof({ weight: 19, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
  return fc.tuple(operations, transport, preflight).map(([op, method, withPreflight]): FuzzRequest => {
    const meta = { document: op.document, ...(op.operationName ? { operationName: op.operationName } : {}) };
    if (method === 'POST') {
      const body = JSON.stringify({ query: op.document, variables: op.variables, operationName: op.operationName });
      return { method, path: '/graphql', headers: { 'content-type': 'application/json' }, body, ...meta };
    }
    const params = new URLSearchParams({ query: op.document });
    if (op.variables) params.set('variables', JSON.stringify(op.variables));
    if (op.operationName) params.set('operationName', op.operationName);
    // Apollo's CSRF prevention wants this header on a GET; without it the request is refused, which is tried too.
    return { method, path: `/graphql?${params}`, headers: withPreflight ? { 'apollo-require-preflight': 'true' } : {}, ...meta };
  });
}

const PATH_PIECES = [...'abcxyz019-._~!$&\'()*+,;=:@/?#[]'.split(''), '%', '%00', '%2e', '%2F', '%ff', '%u0041', '%E0%A4%A', 'graphql', '..', 'é'];

/** Paths around the real ones: spellings of /graphql a proxy rule might miss, traversal, bad escapes, long ones. */
const paths = fc.oneof(
  { weight: 6, arbitrary: fc.constant('/graphql') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '/graphql/', '/GRAPHQL', '/Graphql', '/graphql/x', '//graphql', '/graphql/../healthz', '/graphql%00', '/graphql%2f', '/graph%71l',
      '/%E0%A4%A', '/%', '/healthz', '/healthz/', '/healthz?x=%', '/.well-known/jwks.json', '/.well-known/openid-configuration',
      '/.well-known/../graphql', '/', '/graphql;x', '/graphql?query=%7B', '/graphql?query=x&query=y', '/graphql?access_token=abc', '/graphql?%', '*',
    ),
  },
  // Sign in with the gym: the provider's endpoints and Keycard's interaction pages, with and without sense.
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '/oidc/auth',
      '/oidc/auth?client_id=pool&response_type=code&scope=openid%20pool%3Aswim&redirect_uri=http%3A%2F%2Flocalhost%3A4100%2Fcallback&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=s&nonce=n',
      '/oidc/auth?client_id=pool&response_type=token&redirect_uri=https%3A%2F%2Fevil.example%2F',
      '/oidc/auth/x',
      '/oidc/token',
      '/oidc/token/revocation',
      '/oidc/me',
      '/oidc/session/end',
      '/interaction/x',
      '/interaction/x/login',
      '/interaction/x/confirm',
      '/interaction/%E0%A4%A/abort',
    ),
  },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...PATH_PIECES), { maxLength: 12 }).map((pieces) => `/${pieces.join('')}`) },
  { weight: 1, arbitrary: fc.constantFrom(2_000, 12_000).map((n) => `/${'y'.repeat(n)}`) },
);

const methods = fc.oneof(
  { weight: 8, arbitrary: fc.constant('POST') },
  { weight: 3, arbitrary: fc.constant('GET') },
  { weight: 2, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND') },
);

const contentTypes = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'APPLICATION/JSON',
      'application/graphql', 'application/graphql-response+json', 'text/plain', 'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x', 'application/json; boundary=', ';;;', '', 'application/*',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) },
);

/** Headers a client may add: the CSRF preflight, Accept (HTML gets Sandbox), ids, forwarding, odd cookies. */
const extraHeaders = fc.dictionary(
  fc.constantFrom('apollo-require-preflight', 'x-apollo-operation-name', 'accept', 'x-request-id', 'x-forwarded-for', 'origin', 'cookie', 'accept-charset'),
  fc.oneof(
    fc.constantFrom('text/html', 'application/json', 'application/graphql-response+json', 'multipart/mixed; deferSpec=20220824', 'text/event-stream', '*/*'),
    fc.constantFrom('1.2.3.4, ::1', 'https://evil.example', 'keycard.sid=s%3Aabc.def', 'keycard.sid=%E0%A4%A', `a=${'b'.repeat(6_000)}`),
    fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
  ),
  { maxKeys: 3 },
);

/** A gzip bomb: a few kilobytes that inflate to ten megabytes. */
const GZIP_BOMB = zlib.gzipSync(Buffer.alloc(10_000_000, ' '));

const json = (value: unknown) => JSON.stringify(value) ?? 'null';
const plainQuery = '{ plans { code } }';

/** Bodies of every kind: random bytes, JSON of any shape, GraphQL-shaped JSON with junk in it, cut-off JSON, big ones. */
function bodies(documents: fc.Arbitrary<string>): fc.Arbitrary<string | Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 2_000 }),
    fc.json({ maxDepth: 4 }),
    fc.tuple(documents, fc.nat()).map(([text, n]) => text.slice(0, n % (text.length + 1))),
    fc.record({ query: junk }, { requiredKeys: [] }).map(json),
    fc.record({ query: fc.constant(plainQuery), variables: junk, operationName: junk, extensions: junk }, { requiredKeys: ['query'] }).map(json),
    fc
      .record(
        {
          query: fc.constantFrom(plainQuery, '{ viewer { authenticated } }'),
          extensions: fc.record({ persistedQuery: fc.record({ version: fc.constantFrom<unknown>(1, 2, '1', null), sha256Hash: fc.oneof(fc.constantFrom('abc', ''), fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 64, maxLength: 64 })) }, { requiredKeys: [] }) }),
        },
        { requiredKeys: ['extensions'] },
      )
      .map(json),
    fc.constantFrom(BODY_LIMIT - 2_000, BODY_LIMIT + 1_000, 1_000_000).map((size) => json({ query: plainQuery, variables: { x: 'a'.repeat(size) } })),
    // Nesting far deeper than any value a client could build with JSON.stringify, in unused and used variables.
    fc.constantFrom(1_000, 20_000, 49_000).map((depth) => `{"query": "${plainQuery}", "variables": {"x": ${'['.repeat(depth)}${']'.repeat(depth)}}}`),
    fc.constantFrom(1_000, 20_000, 45_000).map((depth) => `{"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": ${'['.repeat(depth)}${']'.repeat(depth)}}}`),
    fc.constantFrom(1_000, 10_000).map((depth) => `{"query": "mutation($i: LoginInput!) { login(input: $i) { method } }", "variables": {"i": ${'{"email":'.repeat(depth)}1${'}'.repeat(depth)}}}`),
    // Documents nested as deep as the token limit lets them be: selections, and list literals in an argument.
    fc.constantFrom(50, 300, 490).map((depth) => json({ query: `{${' me {'.repeat(depth)} id${' }'.repeat(depth)} }` })),
    fc.constantFrom(50, 300, 490).map((depth) => json({ query: `{ node(id: ${'['.repeat(depth)}${']'.repeat(depth)}) { id } }` })),
    fc.constant(''),
    weirdString,
  );
}

/**
 * Requests that are mostly not what a GraphQL client sends: odd paths, methods and content types, random bytes,
 * truncated or malformed JSON, compressed bodies (a bomb among them), bodies just under and over the limit.
 * `documents` are real generated operations, whose JSON is cut short to make truncated bodies.
 */
export function rawRequestArb(documents: fc.Arbitrary<string>): fc.Arbitrary<FuzzRequest> {
  const encoding = fc.oneof(
    { weight: 8, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('gzip', 'gzip:valid', 'gzip:bomb', 'deflate', 'br', 'identity', 'x-unknown', 'gzip, gzip') },
  );
  const bodyText = documents.map((query) => json({ query }));
  return fc
    .record({ method: methods, path: paths, contentType: fc.option(contentTypes, { freq: 8, nil: undefined }), headers: extraHeaders, body: bodies(bodyText), encoding })
    .map(({ method, path, contentType, headers, body, encoding: coding }): FuzzRequest => {
      const all: Record<string, string> = { ...headers };
      if (contentType !== undefined) all['content-type'] = contentType;
      let payload: string | Uint8Array = body;
      if (coding === 'gzip:valid') payload = zlib.gzipSync(body);
      if (coding === 'gzip:bomb') payload = GZIP_BOMB;
      if (coding) all['content-encoding'] = coding.split(':')[0]!;
      return { method, path, headers: all, ...(method === 'GET' || method === 'HEAD' ? {} : { body: payload }) };
    });
}

/** A keep-alive agent, as a real client would hold; a request cut off by the server simply opens a new socket. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** Sends one request exactly as generated; fails when nothing comes back within `timeoutMs`. */
export function send(base: string, request: FuzzRequest, headers: Record<string, string> = {}, timeoutMs = 20_000): Promise<FuzzResponse> {
  const url = new URL(base);
  // node:http sends the body of a GET or DELETE without a length, as if it were the next request: say it, as a
  // client does.
  const length = request.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(request.body)) };
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, method: request.method, path: request.path, headers: { ...request.headers, ...headers, ...length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(request.body);
  });
}

/** Closes the idle keep-alive sockets (after a file, so the server can close at once). */
export function closeConnections(): void {
  agent.destroy();
}
