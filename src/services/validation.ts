import { z } from 'zod';
import { BadUserInputError } from '../errors.js';

const EMAIL = z.email();

/** Emails are compared case-insensitively: stored trimmed and in lower case. */
export function normalizeEmail(raw: string, argument: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.safeParse(email).success) {
    throw new BadUserInputError(argument, 'must be a valid email address');
  }
  return email;
}

// Control characters in a display name only ever serve to spoof or break whatever renders it.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

// A name is shown to staff on the access sheet and carried to partners in their tokens. Characters that draw nothing
// or reorder the text around them (bidi overrides, embeddings, isolates and marks; zero-width spaces and joiners; the
// byte order mark; any other format or control character, lone surrogates, line and paragraph separators, and the
// Hangul fillers that render blank) only serve to make one name look like another, or to disguise what follows it.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]/u;

/**
 * A display name: in NFC (so one name has one spelling), 1 to 100 characters once trimmed, letters of any script and
 * ordinary spaces, but no control, format or invisible characters.
 */
export function normalizeName(raw: string, argument: string): string {
  const name = raw.normalize('NFC').trim();
  if (name.length === 0) throw new BadUserInputError(argument, 'must not be empty');
  if ([...name].length > 100) throw new BadUserInputError(argument, 'must be at most 100 characters');
  if (CONTROL.test(name)) throw new BadUserInputError(argument, 'must not contain control characters');
  if (INVISIBLE.test(name)) throw new BadUserInputError(argument, 'must not contain invisible or text-direction characters');
  return name;
}

/**
 * An optional short label (a door's name): in NFC and trimmed, empty means none. It stands on the access sheet beside
 * the names, so the same characters are refused.
 */
export function optionalLabel(raw: string | null | undefined, argument: string, max = 64): string | null {
  if (raw === null || raw === undefined) return null;
  const label = raw.normalize('NFC').trim();
  if (label.length === 0) return null;
  if ([...label].length > max) throw new BadUserInputError(argument, `must be at most ${max} characters`);
  if (CONTROL.test(label)) throw new BadUserInputError(argument, 'must not contain control characters');
  if (INVISIBLE.test(label)) throw new BadUserInputError(argument, 'must not contain invisible or text-direction characters');
  return label;
}

/** A real instant: the DateTime scalar already parsed it; this refuses what a Date cannot hold. */
export function requireInstant(value: Date, argument: string, now = Date.now()): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new BadUserInputError(argument, 'must be an ISO 8601 date-time');
  // A membership is sold by the month: anything past a few years, or before the epoch, is a typo or a probe.
  if (value.getTime() < 0 || value.getTime() > now + MAX_FUTURE_MS) throw new BadUserInputError(argument, 'must be between 1970 and ten years from now');
  return value;
}

/** How far ahead a date may be set (a membership's end). */
const MAX_FUTURE_MS = 10 * 366 * 86_400_000;
