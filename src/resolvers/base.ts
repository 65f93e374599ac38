import { DateTimeResolver } from 'graphql-scalars';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import { fromGlobalId } from '../ids.js';
import { mayView } from '../shared/directive.js';

/** Scalars and Relay's Node lookup. */
export const baseResolvers: Resolvers = {
  DateTime: DateTimeResolver,
  Node: {
    // Each row is tagged with its type when node() loads it; the concrete type's own guards then apply.
    __resolveType: (obj) => (obj as { __typename?: 'Member' | 'CheckIn' | 'Plan' }).__typename ?? null,
  },
  Query: {
    node: async (_parent, { id }, { loaders, viewer }, info) => {
      const decoded = fromGlobalId(id);
      if (!decoded) return null;
      const load = { Member: loaders.memberById, CheckIn: loaders.checkInById, Plan: loaders.planById }[decoded.type];
      const row = await load.load(decoded.id);
      // What the caller may not see answers exactly as what does not exist (null, no error): otherwise
      // `node(id:) { __typename }`, which no field guard covers, would tell anyone which ids exist.
      if (!row || !mayView(info.schema, decoded.type, row, viewer)) return null;
      return { ...row, __typename: decoded.type };
    },
  },
};
