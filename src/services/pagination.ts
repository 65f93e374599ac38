import { MAX_ROW_ID } from '../ids.js';
import { BadUserInputError } from '../shared/errors.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../shared/limits.js';

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Validates `first`, naming the argument when it is out of range. */
export function pageSize(first: number | null | undefined, argument = 'first'): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(argument, `must be between 0 and ${MAX_PAGE_SIZE}`);
  }
  return first;
}

const CURSOR_PREFIX = 'cursor:';

/** Cursors are opaque to clients: base64url of the row id, so they can be compared in SQL without an offset scan. */
function encodeCursor(id: number): string {
  return Buffer.from(CURSOR_PREFIX + id).toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined, argument = 'after'): number | null {
  if (cursor === null || cursor === undefined) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = text.startsWith(CURSOR_PREFIX) ? Number(text.slice(CURSOR_PREFIX.length)) : NaN;
  if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ROW_ID) throw new BadUserInputError(argument, 'is not a cursor from this list');
  return id;
}

/** Builds a connection from up to `size + 1` rows fetched in order: the extra row only says there is a next page. */
export function toConnection<T extends { id: number }>(rows: T[], size: number): Connection<T> {
  const page = rows.slice(0, size);
  const edges = page.map((node) => ({ cursor: encodeCursor(node.id), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
