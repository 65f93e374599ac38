import { describe, expect, it } from 'vitest';
import { runChores, scheduleChores } from '../../src/shared/housekeeping.js';
import { TestClock } from '../helpers/clock.js';

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

  it('runs the chores each time their interval has passed on the clock it is given, and never after it is stopped', async () => {
    const clock = new TestClock();
    let runs = 0;
    const stop = scheduleChores({ 'sweep sessions': () => void (runs += 1) }, { warn: () => undefined }, 60_000, clock);
    await clock.advance(59_000);
    expect(runs).toBe(0);
    await clock.advance(1_000);
    expect(runs).toBe(1);
    // A late interval runs once, not once for every minute it missed.
    await clock.advance(3_600_000);
    expect(runs).toBe(2);
    stop();
    await clock.advance(60_000);
    expect(runs).toBe(2);
  });
});
