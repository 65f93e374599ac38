import { z } from 'zod';
import { BadUserInputError } from '../shared/errors.js';

const EMAIL = z.email();

// Control characters (C0, DEL, C1) in typed text only ever serve to spoof or break whatever shows, searches or stores
// it, and the engines disagree about them: PostgreSQL's text refuses a NUL outright, SQLite compares up to it.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The one rule for free text a client types (a search, a name, a door, an email, a partner's name): in NFC (so one
 * text has one spelling), trimmed, at most `max` characters (code points), and no control characters, which are
 * BAD_USER_INPUT naming the argument on either engine. It may come back empty: what that means is the caller's.
 *
 * Secrets (passwords, tokens) do not go through it: they are never shown nor stored as text, and Argon2 and SHA-256
 * take every byte of them, NUL included.
 */
export function freeText(raw: string, argument: string, max: number): string {
  const text = raw.normalize('NFC').trim();
  if (CONTROL.test(text)) throw new BadUserInputError(argument, 'must not contain control characters');
  if ([...text].length > max) throw new BadUserInputError(argument, `must be at most ${max} characters`);
  return text;
}

/** Emails are compared case-insensitively: stored trimmed and in lower case. */
export function normalizeEmail(raw: string, argument: string): string {
  const email = freeText(raw, argument, 254).toLowerCase();
  if (!EMAIL.safeParse(email).success) throw new BadUserInputError(argument, 'must be a valid email address');
  return email;
}

// A name is shown to staff on the access sheet and carried to partners in their tokens. Characters that draw nothing
// or reorder the text around them (bidi overrides, embeddings, isolates and marks; zero-width spaces and joiners; the
// byte order mark; any other format or control character, lone surrogates, line and paragraph separators, and the
// Hangul fillers that render blank) only serve to make one name look like another, or to disguise what follows it.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]/u;

/** Free text that is shown to others (names, doors): besides the rule of {@link freeText}, nothing invisible. */
function shownText(raw: string, argument: string, max: number): string {
  const text = freeText(raw, argument, max);
  if (INVISIBLE.test(text)) throw new BadUserInputError(argument, 'must not contain invisible or text-direction characters');
  return text;
}

/** A display name: 1 to 100 characters once trimmed, letters of any script and ordinary spaces, nothing invisible. */
export function normalizeName(raw: string, argument: string): string {
  const name = shownText(raw, argument, 100);
  if (name.length === 0) throw new BadUserInputError(argument, 'must not be empty');
  return name;
}

/**
 * An optional short label (a door's name): empty means none. It stands on the access sheet beside the names, so the
 * same characters are refused.
 */
export function optionalLabel(raw: string | null | undefined, argument: string, max = 64): string | null {
  if (raw === null || raw === undefined) return null;
  const label = shownText(raw, argument, max);
  return label.length === 0 ? null : label;
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
