import { Writable } from 'node:stream';
import { DrizzleQueryError } from 'drizzle-orm';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { describeError, logOptions } from '../../src/shared/logger.js';

/** A failed insert as Drizzle reports it: the SQL, then the values bound to it, then the driver's reason as its cause. */
const failedInsert = () =>
  new DrizzleQueryError(
    'insert into "members" ("email", "password_hash") values ($1, $2)',
    ['ada@keycard.test', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA'],
    Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
  );

describe('errors of failed queries', () => {
  it('reach the log without the values bound to the query, with the query and the reason', () => {
    const lines: string[] = [];
    const log = pino(logOptions('info'), new Writable({ write: (chunk, _encoding, done) => done(void lines.push(String(chunk))) }));
    log.error({ err: failedInsert() }, 'unexpected error');
    // Wrapped as the GraphQL layer wraps a failure in the context: the message is copied into the wrapper's.
    log.error({ err: new Error(`Context creation failed: ${failedInsert().message}`, { cause: failedInsert() }) }, 'unexpected error');
    const logged = lines.join('');
    expect(logged).toContain('insert into');
    expect(logged).toContain('statement timeout');
    expect(logged).not.toContain('ada@keycard.test');
    expect(logged).not.toContain('$argon2id');
  });

  it('reach a terminal the same way, in one line', () => {
    const line = describeError(failedInsert());
    expect(line).toBe('Failed query: insert into "members" ("email", "password_hash") values ($1, $2): canceling statement due to statement timeout');
  });
});
