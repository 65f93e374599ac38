import { pino, type Logger } from 'pino';

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
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service } }, destination);
}
