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

/**
 * A service's structured log on standard output. Written asynchronously (pino's sonic-boom destination, flushed on
 * exit): a request never waits for the terminal or a pipe to take its log line.
 */
export function createLogger(level: string, service = 'keycard'): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service } }, pino.destination({ dest: 1, sync: false }));
}
