import { describe, expect, it } from 'vitest';
import { checkPasswordPolicy, hashPassword, verifyPassword } from '../../src/auth/passwords.js';

describe('passwords', () => {
  it('are hashed with Argon2id, salted, and verify only with the same password', async () => {
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    expect(a).toMatch(/^\$argon2id\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(a, 'correct horse battery stapl')).toBe(false);
    expect(await verifyPassword(null, 'correct horse battery staple')).toBe(false);
    expect(await verifyPassword('not a hash', 'anything at all')).toBe(false);
  });

  it('hash off the event loop: timers keep firing while a hash runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await Promise.all(Array.from({ length: 4 }, () => hashPassword('keeping the loop free')));
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
  });

  it('must be 12 to 128 characters, counted as characters, and not common', () => {
    expect(() => checkPasswordPolicy('elevenchars', 'p')).toThrow(/at least 12/);
    expect(() => checkPasswordPolicy('twelve chars', 'p')).not.toThrow();
    expect(() => checkPasswordPolicy('🔑'.repeat(12), 'p')).not.toThrow();
    expect(() => checkPasswordPolicy('x'.repeat(128), 'p')).not.toThrow();
    expect(() => checkPasswordPolicy('x'.repeat(129), 'p')).toThrow(/at most 128/);
    expect(() => checkPasswordPolicy('password1234', 'p')).toThrow(/common/);
    expect(() => checkPasswordPolicy('PASSWORD1234', 'p')).toThrow(/common/);
    expect(() => checkPasswordPolicy('123456789012', 'p')).toThrow(/common/);
  });
});
