import { BadUserInputError } from './shared/errors.js';

/** The object types that have global IDs. */
export type NodeType = 'Member' | 'CheckIn' | 'Plan';

/**
 * Global IDs are base64url of `Type:rowId` (Relay's convention): opaque to clients, the same string everywhere
 * the object appears, and enough for `node` to know which table to read.
 */
export function toGlobalId(type: NodeType, id: number): string {
  return Buffer.from(`${type}:${id}`).toString('base64url');
}

/**
 * The largest row id: PostgreSQL's `integer`, which both engines' ids stay within. A larger number names no row on
 * either engine, so it is refused like any other id that is not ours (PostgreSQL would refuse to compare it at all).
 */
export const MAX_ROW_ID = 2_147_483_647;

// The canonical id of the largest row id is under 24 characters; anything much longer is refused before it is decoded.
const MAX_GLOBAL_ID_LENGTH = 32;
const CANONICAL_TEXT = /^(Member|CheckIn|Plan):([1-9][0-9]{0,9})$/;

/**
 * Decodes a global ID, or returns null when it is not one of ours. Never throws: lookups answer null.
 *
 * Only the exact string {@link toGlobalId} makes is accepted (no padding, spaces, junk after the base64, other
 * spellings of the same bytes, leading zeros, or ids past {@link MAX_ROW_ID}): one object has one id, so ids can be compared,
 * cached and logged as strings, and a probe cannot find a second name for a row.
 */
export function fromGlobalId(globalId: string): { type: NodeType; id: number } | null {
  if (typeof globalId !== 'string' || globalId.length > MAX_GLOBAL_ID_LENGTH) return null;
  const match = CANONICAL_TEXT.exec(Buffer.from(globalId, 'base64url').toString('utf8'));
  if (!match) return null;
  const type = match[1] as NodeType;
  const id = Number(match[2]);
  if (id > MAX_ROW_ID || toGlobalId(type, id) !== globalId) return null;
  return { type, id };
}

/** The row id behind a global ID of the given type, or null (for lookups, which answer null). */
export function idOf(type: NodeType, globalId: string): number | null {
  const decoded = fromGlobalId(globalId);
  return decoded && decoded.type === type ? decoded.id : null;
}

/** The row id behind a global ID of the given type, or BAD_USER_INPUT naming the argument (for mutations). */
export function requireIdOf(type: NodeType, globalId: string, argument: string): number {
  const id = idOf(type, globalId);
  if (id === null) throw new BadUserInputError(argument, `is not a ${type} ID`);
  return id;
}
