import { describe, expect, it } from 'vitest';
import { runAsync, runSync, step, type Script, type Step } from '../../src/shared/steps.js';

/** One script, two engines: statements that answer at once (SQLite) or with promises (PostgreSQL). */
function* transfer(read: () => Step<number>, write: (n: number) => Step<void>, log: string[]): Script<number> {
  try {
    const balance = yield* step(read());
    yield* step(write(balance - 10));
    return balance - 10;
  } finally {
    log.push('finally');
  }
}

describe('atomic steps written once', () => {
  it('run the same script to the same result on either engine', async () => {
    const log: string[] = [];
    let stored = 100;
    expect(runSync(transfer(() => stored, (n) => void (stored = n), log))).toBe(90);
    expect(await runAsync(transfer(async () => stored, async (n) => void (stored = n), log))).toBe(80);
    expect(stored).toBe(80);
    expect(log).toEqual(['finally', 'finally']);
  });

  it('refuse a promise inside a synchronous transaction', () => {
    expect(() => runSync(transfer(async () => 1, () => undefined, []))).toThrow(/promise inside a synchronous transaction/);
  });

  it('throw a failed statement into the script where it was, so its finally blocks run', async () => {
    const log: string[] = [];
    await expect(runAsync(transfer(async () => Promise.reject(new Error('connection lost')), async () => undefined, log))).rejects.toThrow('connection lost');
    expect(log).toEqual(['finally']);
  });

  it('fail a step whose script caught a failed statement and went on: PostgreSQL could not commit it', async () => {
    function* swallowing(): Script<string> {
      try {
        yield* step<void>(Promise.reject(new Error('duplicate key')));
      } catch {
        // A script must not do this; if one does, the step still fails rather than report a commit that never was.
      }
      return 'done';
    }
    await expect(runAsync(swallowing())).rejects.toThrow('duplicate key');
  });
});
