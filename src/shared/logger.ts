import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths pino replaces with [redacted] wherever they appear in a log object: a belt to the braces of never passing
 * credentials to the logger in the first place.
 */
const REDACT = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.refreshToken',
  '*.accessToken',
  '*.token',
  'variables',
];

/** The `params:` line Drizzle writes into a failed query's message (and so its stack): up to the stack or the end. */
const QUERY_PARAMETERS = /\nparams: [\s\S]*?(?=\n {4}at |$)/g;

/**
 * A failed query's error carries its bound parameters (Drizzle puts them in the message and in a `params` property):
 * password hashes, emails, token and session hashes. The error serializer keeps the query and the driver's reason, and
 * drops the values, however deep the error sits (a cause, a GraphQL error's original error).
 */
function withoutParameters(value: unknown, depth = 0): unknown {
  if (depth > 5 || value === null || typeof value !== 'object') return typeof value === 'string' ? value.replace(QUERY_PARAMETERS, '\nparams: [redacted]') : value;
  if (Array.isArray(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'params') continue;
    copy[key] = withoutParameters(inner, depth + 1);
  }
  return copy;
}

const serializeError = (err: unknown) => withoutParameters(pino.stdSerializers.err(err as Error));

/**
 * An error as one line for a terminal (a failed start, a command that failed): its message and the messages of what
 * caused it (the driver's reason under Drizzle's "Failed query"), without the values bound to a failed query.
 */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; depth < 5 && e !== undefined && e !== null; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    parts.push(message.replace(QUERY_PARAMETERS, '').replace(/\s+$/, ''));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.filter(Boolean).join(': ');
}

/** How long a log line may wait in the buffer before it is written anyway. */
const FLUSH_INTERVAL_MS = 1_000;

/**
 * A service's structured log on standard output, written asynchronously by pino's sonic-boom destination in batches
 * of 4 KB (one write for a dozen request lines instead of one each, which cost a tenth of a busy server's
 * throughput), and at least once a second, so a quiet server's last line still shows at once. pino flushes it
 * synchronously on exit; a process killed outright loses at most the last second.
 */
export function createLogger(level: string, service = 'keycard'): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const flusher = setInterval(() => {
    try {
      destination.flush();
    } catch {
      // Closed (the process is ending): nothing left to flush.
      clearInterval(flusher);
    }
  }, FLUSH_INTERVAL_MS);
  // Housekeeping only: it never keeps a process alive.
  flusher.unref();
  return pino(logOptions(level, service), destination);
}

/** What every Keycard logger is made with (the tests' too, writing elsewhere): the level, redaction, the error serializer. */
export function logOptions(level: string, service = 'keycard'): LoggerOptions {
  return { level, redact: { paths: REDACT, censor: '[redacted]' }, serializers: { err: serializeError }, base: { service } };
}
