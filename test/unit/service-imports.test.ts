import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SERVICES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/services');

/**
 * What a service must not import, types included: the GraphQL context and resolvers, GraphQL itself, and the
 * transports (Express, WebSockets, the socket server). Services are what every transport calls.
 */
const FORBIDDEN = [
  /^\.\.\/context\.js$/,
  /^\.\.\/resolvers\//,
  /^\.\.\/schema\.js$/,
  /^graphql(-ws|-scalars)?(\/|$)/,
  /^@apollo\//,
  /^@graphql-tools\//,
  /^express(-session)?(\/|$)/,
  /^ws$/,
  /^\.\.\/live\/(server|connection|stream|ws)\.js$/,
  /^\.\.\/oidc\//,
];

/** Every module a TypeScript source names: `import ... from`, `export ... from`, `import('...')`. */
function importsOf(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

describe('the services layer', () => {
  const files = readdirSync(SERVICES).filter((name) => name.endsWith('.ts'));

  it('reads the imports of a source as written, type imports and re-exports included', () => {
    expect(importsOf(`import type { Context } from '../context.js';\nexport { x } from "graphql";\nawait import('ws');`)).toEqual(['../context.js', 'graphql', 'ws']);
  });

  it('imports neither the GraphQL context nor GraphQL, Express or a socket', () => {
    expect(files).toContain('auth.ts');
    const offending = files.flatMap((name) =>
      importsOf(readFileSync(path.join(SERVICES, name), 'utf8'))
        .filter((spec) => FORBIDDEN.some((rule) => rule.test(spec)))
        .map((spec) => `${name} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });
});
