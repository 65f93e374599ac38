import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('Keycard could not find its package.json above ' + start);
    dir = parent;
  }
  return dir;
}

/**
 * The repository root, found by walking up to package.json, so that the SDL and the migrations load the same way
 * whether the code runs from `src/` (tsx, vitest) or from the compiled `dist/src/`.
 */
export const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const SCHEMA_DIR = path.join(ROOT, 'schema');
/** Migrations per service and per engine: `drizzle/<service>/sqlite/` and `drizzle/<service>/pg/`. */
export const GYM_MIGRATIONS_DIR = path.join(ROOT, 'drizzle', 'gym', 'sqlite');
export const GYM_PG_MIGRATIONS_DIR = path.join(ROOT, 'drizzle', 'gym', 'pg');
export const POOL_MIGRATIONS_DIR = path.join(ROOT, 'drizzle', 'pool', 'sqlite');
export const POOL_PG_MIGRATIONS_DIR = path.join(ROOT, 'drizzle', 'pool', 'pg');
export const POOL_SCHEMA_DIR = path.join(ROOT, 'schema', 'pool');
