import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The SDL of every `.graphql` file in `dir` (the gym's `schema/`, the pool's `schema/pool/`), base first so its
 * definitions precede their extensions.
 */
export function loadTypeDefs(dir: string): string[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort((a, b) => (a === 'base.graphql' ? -1 : b === 'base.graphql' ? 1 : a.localeCompare(b)));
  return files.map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

