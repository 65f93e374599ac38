import { describe, expect, it } from 'vitest';
import { boundCloseReason } from '../../src/live/close-reason.js';

describe('a socket close reason', () => {
  it('stays as it is when it fits in 123 bytes', () => {
    expect(boundCloseReason('token_expired')).toBe('token_expired');
    expect(boundCloseReason('')).toBe('');
    expect(boundCloseReason('x'.repeat(123))).toBe('x'.repeat(123));
  });

  it.each([
    ['three-byte characters', '€'.repeat(64), '€'.repeat(41)],
    ['four-byte characters after one ASCII one', `a${'😀'.repeat(40)}`, `a${'😀'.repeat(30)}`],
    ['a long ASCII reason', 'x'.repeat(500), 'x'.repeat(123)],
  ])('is cut to 123 bytes at most, between two characters, for %s', (_what, reason, cut) => {
    const bounded = boundCloseReason(reason);
    expect(bounded).toBe(cut);
    expect(Buffer.byteLength(bounded)).toBeLessThanOrEqual(123);
    // Whole characters only: what is sent decodes back to exactly the text that was kept, no half of a pair.
    expect(Buffer.from(bounded).toString('utf8')).toBe(bounded);
  });
});
