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

export function createLogger(level: string, service = 'keycard'): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service } });
}
