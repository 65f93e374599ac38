import { describe, expect, it } from 'vitest';
import { runChores } from '../../src/shared/housekeeping.js';

describe('housekeeping', () => {
  it('runs every chore although an earlier one fails (or rejects), and logs the failure by name', async () => {
    const ran: string[] = [];
    const warnings: unknown[] = [];
    await runChores(
      {
        'reload signing keys': () => {
          throw new Error('bad.pem: not a PEM private key');
        },
        'sweep sessions': async () => {
          throw new Error('the database is unreachable');
        },
        'sweep login throttle': () => void ran.push('throttle'),
        'sweep refresh tokens': () => void ran.push('refresh'),
      },
      { warn: (obj: unknown) => void warnings.push(obj) } as never,
    );
    expect(ran).toEqual(['throttle', 'refresh']);
    expect(warnings).toEqual([expect.objectContaining({ chore: 'reload signing keys' }), expect.objectContaining({ chore: 'sweep sessions' })]);
  });
});
