import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { applyAuthDirective } from './shared/directive.js';
import { idOf } from './ids.js';
import { SCHEMA_DIR } from './shared/paths.js';
import { loadTypeDefs } from './shared/type-defs.js';
import { baseResolvers } from './resolvers/base.js';
import { checkInResolvers } from './resolvers/checkin.js';
import { memberResolvers } from './resolvers/member.js';
import { membershipResolvers } from './resolvers/membership.js';
import { partnerResolvers } from './resolvers/partner.js';

/**
 * The gym's executable schema: SDL from `schema/`, the resolvers bound to it, and the @auth transform applied last,
 * so it wraps the real resolvers. Throws (and the server refuses to start) if any root field is left unguarded.
 */
export function buildSchema(): GraphQLSchema {
  const schema = makeExecutableSchema({
    typeDefs: loadTypeDefs(SCHEMA_DIR),
    resolvers: [baseResolvers, memberResolvers, membershipResolvers, checkInResolvers, partnerResolvers] as never,
    inheritResolversFromInterfaces: false,
  });
  return applyAuthDirective(schema, { memberIdFromArgument: (value) => (typeof value === 'string' ? idOf('Member', value) : null) });
}
