import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import cors from 'cors';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { clip } from './text.js';

/**
 * What every service's HTTP server does around its GraphQL endpoint, each piece decided once when the shell is built:
 * answers to requests Node's parser refused, the security headers and log line of every response, CORS, errors as
 * GraphQL-shaped JSON, `/healthz`, and the JSON 404.
 */

/** The largest body `/graphql` takes (and the largest message a socket takes: a subscription is no bigger than a query). */
export const MAX_BODY_BYTES = 100 * 1024;
const REQUEST_ID = /^[\w.:-]{1,64}$/;

/** What the request's log line says about a GraphQL operation, filled in as the request goes. */
export interface RequestLog {
  operationName?: string | null;
  viewer?: { method: string; memberId: number | string } | null;
  errorCodes?: string[];
}

/** Node's own answers to a request it cannot parse or that took too long, by its error code. */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};
/** How long a connection whose request could not be parsed is read on (what comes dropped) after its answer. */
const LINGER_MS = 2_000;
const answeredSockets = new WeakSet<object>();

/**
 * Answers a request Node's parser refused (headers over 16 kB, a malformed request line) as Node does, 431 or 400, but
 * so that the client reads the answer: Node writes it and destroys the socket at once, and the part of the request
 * still unread makes the kernel send a reset that can arrive first, so the client sees ECONNRESET instead (Node 24's
 * client always does, for a large request). Here the server half-closes after the answer and reads on, dropping what
 * comes, until the client closes or LINGER_MS pass. A client that is too slow (408) is still cut off at once.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // The parser reports again for what arrives after its first error: one answer per connection.
  if (answeredSockets.has(socket)) return;
  answeredSockets.add(socket);
  // Never write into a response that has begun (it would corrupt it), nor to a client that is gone.
  const inFlight = (socket as { _httpMessage?: http.ServerResponse })._httpMessage;
  if (!socket.writable || error.code === 'ECONNRESET' || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? '400 Bad Request';
  const answer = `HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    socket.write(answer);
    socket.destroy();
    return;
  }
  socket.end(answer);
  socket.resume();
  socket.once('end', () => socket.destroy());
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

interface LogState {
  log: Logger;
  id: string;
  started: number;
  entry: RequestLog;
}

/** The longest client-chosen string (a path, an operation name) a log line repeats: the client never sizes the log. */
const MAX_LOGGED_CHARS = 200;

/** The one `finish` listener of every response: no closure is made per request. */
function logFinished(this: Response): void {
  const { log, id, started, entry } = this.locals.logState as LogState;
  const req = this.req;
  const status = this.statusCode;
  const outcome = status >= 500 ? 'error' : entry.errorCodes?.length ? `errors:${entry.errorCodes.join(',')}` : status >= 400 ? 'refused' : 'ok';
  log.info(
    {
      reqId: id,
      method: req.method,
      // The route without its query string, which may carry things that must not be logged.
      path: clip(req.originalUrl.split('?', 1)[0]!, MAX_LOGGED_CHARS),
      status,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      operation: entry.operationName ? clip(entry.operationName, MAX_LOGGED_CHARS) : undefined,
      auth: entry.viewer?.method ?? 'anonymous',
      memberId: entry.viewer?.memberId,
      outcome,
    },
    'request',
  );
}

/**
 * What every response gets, in one middleware (each layer Express walks costs every request): helmet's security
 * headers, `Cache-Control: no-store` (GraphQL answers are personal; routes that may be cached say so themselves), a
 * request id, and one log line when the response is finished.
 *
 * The log line is built from what the request did, never from its headers or body, so no cookie, token or password
 * can reach it; being of that fixed shape, it skips the logger's redaction pass, which every other log call keeps.
 */
export function front(log: Logger, production: boolean): RequestHandler {
  const headers = securityHeaders(production);
  const requestLog = log.child({}, { redact: { paths: [] } });
  return (req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    res.setHeader('Cache-Control', 'no-store');
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    const entry: RequestLog = {};
    res.locals.requestLog = entry;
    res.locals.logState = { log: requestLog, id, started: performance.now(), entry } satisfies LogState;
    // `on`, not `once`: 'finish' comes once, and `once` would wrap the listener anew for every request.
    res.on('finish', logFinished);
    next();
  };
}

/**
 * helmet's security headers (nosniff, no referrer, frame and cross-origin policies, HSTS...), computed once by
 * helmet itself at start, to be replayed on every response: the same headers, without running a dozen middlewares
 * per request. The content security policy stays off outside production, where the Sandbox page loads Apollo's
 * embed script; production serves no page.
 */
function securityHeaders(production: boolean): [string, string][] {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name, value),
    removeHeader: (name: string) => headers.delete(name),
  };
  const middleware = helmet({ contentSecurityPolicy: production ? undefined : false, crossOriginEmbedderPolicy: false });
  let ran = false;
  middleware({} as never, recorder as never, (err?: unknown) => {
    if (err) throw err;
    ran = true;
  });
  // helmet decides everything from its options, not from the request; if that ever changed, fail at start.
  if (!ran || headers.size === 0) throw new Error('helmet did not produce its headers at start');
  return [...headers];
}

/** CORS for the configured origins, always with credentials, never `*`; only a request that sends Origin pays for it. */
export function corsFor(origins: readonly string[]): RequestHandler {
  const handler = cors({ origin: [...origins], credentials: true, maxAge: 600 });
  return (req, res, next) => (req.headers.origin === undefined ? next() : handler(req, res, next));
}

/** Body-parser and other HTTP-level errors as GraphQL-shaped JSON, never an HTML page or a stack. */
export function httpErrors(log: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const status = Number(err?.status ?? err?.statusCode ?? 500);
    if (status >= 500) log.error({ err }, 'unhandled error');
    const message =
      status === 413 ? `Request body too large (limit ${MAX_BODY_BYTES / 1024}kb)` : status >= 500 ? 'Internal server error' : 'Malformed request';
    if (res.headersSent) return;
    res.status(status).json({ errors: [{ message, extensions: { code: status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST' } }] });
  };
}

/** `GET /healthz`: 200 while the database answers, 503 otherwise. */
export function healthCheck(healthy: () => Promise<boolean>): RequestHandler {
  return async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    let ok = false;
    try {
      ok = await healthy();
    } catch {
      ok = false;
    }
    if (ok) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable' });
  };
}

/** Unknown routes: a JSON 404. */
export const notFound: RequestHandler = (_req, res) => {
  res.status(404).json({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
};
