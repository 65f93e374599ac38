import { BadUserInputError } from './errors.js';

/** The object types that have global IDs. */
export type NodeType = 'Member' | 'CheckIn' | 'Plan';
const NODE_TYPES: ReadonlySet<string> = new Set<NodeType>(['Member', 'CheckIn', 'Plan']);

/**
 * Global IDs are base64url of `Type:rowId` (Relay's convention): opaque to clients, the same string everywhere
 * the object appears, and enough for `node` to know which table to read.
 */
export function toGlobalId(type: NodeType, id: number): string {
  return Buffer.from(`${type}:${id}`).toString('base64url');
}

/** Decodes a global ID, or returns null when it is not one of ours. Never throws: lookups answer null. */
export function fromGlobalId(globalId: string): { type: NodeType; id: number } | null {
  if (globalId.length > 200) return null;
  const text = Buffer.from(globalId, 'base64url').toString('utf8');
  const sep = text.indexOf(':');
  if (sep < 0) return null;
  const type = text.slice(0, sep);
  const raw = text.slice(sep + 1);
  if (!NODE_TYPES.has(type) || !/^[1-9]\d{0,15}$/.test(raw)) return null;
  return { type: type as NodeType, id: Number(raw) };
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
