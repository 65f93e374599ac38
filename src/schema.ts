import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { applyAuthDirective } from './shared/directive.js';
import { idOf } from './ids.js';
import { SCHEMA_DIR } from './shared/paths.js';
import { baseResolvers } from './resolvers/base.js';
import { checkInResolvers } from './resolvers/checkin.js';
import { memberResolvers } from './resolvers/member.js';
import { membershipResolvers } from './resolvers/membership.js';
import { partnerResolvers } from './resolvers/partner.js';

/** The SDL of every `.graphql` file in `dir`, base first so its definitions precede their extensions. */
export function loadTypeDefs(dir = SCHEMA_DIR): string[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort((a, b) => (a === 'base.graphql' ? -1 : b === 'base.graphql' ? 1 : a.localeCompare(b)));
  return files.map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

/**
 * The gym's executable schema: SDL from `schema/`, the resolvers bound to it, and the @auth transform applied last,
 * so it wraps the real resolvers. Throws (and the server refuses to start) if any root field is left unguarded.
 */
export function buildSchema(): GraphQLSchema {
  const schema = makeExecutableSchema({
    typeDefs: loadTypeDefs(),
    resolvers: [baseResolvers, memberResolvers, membershipResolvers, checkInResolvers, partnerResolvers] as never,
    inheritResolversFromInterfaces: false,
  });
  return applyAuthDirective(schema, { memberIdFromArgument: (value) => (typeof value === 'string' ? idOf('Member', value) : null) });
}
