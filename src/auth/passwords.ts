import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';
import pLimit from 'p-limit';
import { dictionary } from '@zxcvbn-ts/language-common';
import { BadUserInputError, RateLimitedError } from '../shared/errors.js';

const PASSWORD_MIN_LENGTH = 12;
const PASSWORD_MAX_LENGTH = 128;

/**
 * Argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane). @node-rs/argon2 runs each hash as an async native task
 * on libuv's thread pool, so a login never blocks the event loop.
 */
const ARGON2ID = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** The ~50,000 commonest passwords (zxcvbn's list), compared case-insensitively. */
const COMMON = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));

/**
 * Refuses a password that is too short, too long or too common, naming the argument. Lengths are counted in
 * Unicode code points and nothing is ever truncated: all 128 characters count.
 */
export function checkPasswordPolicy(password: string, argument: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    throw new BadUserInputError(argument, `must be at least ${PASSWORD_MIN_LENGTH} characters`);
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw new BadUserInputError(argument, `must be at most ${PASSWORD_MAX_LENGTH} characters`);
  }
  if (COMMON.has(password.toLowerCase())) {
    throw new BadUserInputError(argument, 'is one of the most common passwords; choose another');
  }
}

/**
 * At most this many Argon2 computations at once. Each is ~20 MiB and tens of milliseconds of a whole core: run
 * unbounded on libuv's pool (4 threads), a burst of logins takes every core and the event loop, which serves every
 * other request, waits for the CPU. One core is always left to it; logins queue for the rest.
 */
const HASHING_SLOTS = Math.max(1, availableParallelism() - 1);
const hashing = pLimit(HASHING_SLOTS);

/** How many password checks may wait for a slot: about a second of work. Past that, callers are turned away. */
const MAX_WAITING = 32 * HASHING_SLOTS;

/** Password checks admitted but not yet queued for a slot: they are reading the account or the throttle meanwhile. */
let reserved = 0;

/** A place in the hashing queue, held from admission until the hash is queued (or the request ends first). */
export interface HashingSlot {
  /** Gives the place back; idempotent. Hashing with the slot gives it back as the hash joins the queue. */
  release(): void;
}

/**
 * Admits a password check, or refuses it while the queue is full (RATE_LIMITED, retry in a second), so a flood of
 * sign-ins cannot make everyone's wait unbounded. Called before anything about the account is read, so it answers the
 * same for every email. Admission holds a place from then on: a request that awaits its database between admission and
 * hashing (every request, on PostgreSQL) still counts, so a flood is refused at the door rather than let in to pile up
 * behind it. Release the slot in a `finally`.
 */
export function reserveHashing(): HashingSlot {
  if (hashing.pendingCount + reserved >= MAX_WAITING) throw new RateLimitedError(1, 'The front desk is busy; try again in a moment');
  reserved++;
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      reserved--;
    },
  };
}

export function hashPassword(password: string, slot?: HashingSlot): Promise<string> {
  slot?.release();
  return hashing(() => hash(password, ARGON2ID));
}

/** A hash of nothing anyone knows, verified when the email is unknown so that case costs the same time. */
let dummyHash: Promise<string> | undefined;

/** Makes the dummy hash at start, so even the first unknown email costs one verification, not a hash and one. */
export async function prepareDummyHash(): Promise<void> {
  dummyHash ??= hashPassword(crypto.randomUUID());
  await dummyHash;
}

/**
 * Verifies a password against a stored hash; with no hash (unknown email) it still spends one verification
 * against a dummy, so response time does not tell whether an account exists.
 */
export async function verifyPassword(storedHash: string | null, password: string, slot?: HashingSlot): Promise<boolean> {
  slot?.release();
  if (password.length > PASSWORD_MAX_LENGTH * 4) return false;
  if (storedHash === null) {
    await prepareDummyHash();
    const dummy = await dummyHash!;
    await hashing(() => verify(dummy, password)).catch(() => false);
    return false;
  }
  try {
    return await hashing(() => verify(storedHash, password));
  } catch {
    return false;
  }
}
