/**
 * The baseline every ratio is taken against: the gym's own SDL, without its @auth and @public directives, on bare
 * Apollo Server + Express + JSON body parsing, and nothing else: no helmet, no request log, no CORS, no limits, no
 * session, no token, no directive. It reads the same rows through the same data layer (the gym's statements, on the
 * same engine, and its per-request DataLoaders), so what separates a scenario from its baseline is what Keycard adds.
 *
 * It knows who is asking for free: `me` trusts a plain `x-member-id` header. That is exactly what isolates the
 * price of signing in.
 */
import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import express from 'express';
import { parse, visit, type DocumentNode } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
// What the baseline borrows from the gym; if the gym renames one of these, only its import line changes.
import type { GymData } from '../../src/db/data.js';
import { createLoaders } from '../../src/db/loaders.js';
import type { CheckInRow, MemberRow, MembershipRow, PlanRow } from '../../src/db/schema.js';
import { toGlobalId } from '../../src/ids.js';
import { SCHEMA_DIR } from '../../src/shared/paths.js';
import { loadTypeDefs } from '../../src/shared/type-defs.js';
import { toConnection } from '../../src/services/pagination.js';

/** The header the baseline takes the member from, unverified. */
export const MEMBER_ID_HEADER = 'x-member-id';

const GYM_DIRECTIVES = new Set(['auth', 'public']);

/** The gym's SDL with every use of @auth and @public removed (their definitions stay: unused, they cost nothing). */
export function typeDefsWithoutDirectives(): DocumentNode[] {
  return loadTypeDefs(SCHEMA_DIR).map((sdl) =>
    visit(parse(sdl), {
      Directive: (node) => (GYM_DIRECTIVES.has(node.name.value) ? null : undefined),
    }),
  );
}

interface BaselineContext {
  loaders: ReturnType<typeof createLoaders>;
  memberId: number | null;
}

function memberIdOf(req: express.Request): number | null {
  const value = Number(req.get(MEMBER_ID_HEADER));
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}

/**
 * Only the fields the benchmark's operations select need resolvers beyond the default property read; each runs the
 * statement the gym runs for it.
 */
function resolvers(data: GymData) {
  return {
    DateTime: DateTimeResolver,
    Query: {
      plans: () => data.plans.all(),
      me: (_parent: unknown, _args: unknown, { loaders, memberId }: BaselineContext) => (memberId === null ? null : loaders.memberById.load(memberId)),
      checkIns: async (_parent: unknown, args: { first?: number | null }) => {
        const size = args.first ?? 20;
        return toConnection(await data.checkIns.sheet({ memberId: null, beforeId: null, limit: size + 1 }), size);
      },
    },
    Member: {
      id: (member: MemberRow) => toGlobalId('Member', member.id),
      membership: (member: MemberRow, _args: unknown, { loaders }: BaselineContext) => loaders.membershipByMemberId.load(member.id),
    },
    Membership: {
      plan: (membership: MembershipRow, _args: unknown, { loaders }: BaselineContext) => loaders.planById.load(membership.planId),
    },
    Plan: { id: (plan: PlanRow) => toGlobalId('Plan', plan.id) },
    CheckIn: {
      id: (row: CheckInRow) => toGlobalId('CheckIn', row.id),
      member: (row: CheckInRow, _args: unknown, { loaders }: BaselineContext) => loaders.memberById.load(row.memberId),
    },
  };
}

/** The baseline server on an open database, not yet listening. */
export async function createBaselineServer(data: GymData): Promise<http.Server> {
  const schema = makeExecutableSchema({ typeDefs: typeDefsWithoutDirectives(), resolvers: resolvers(data) });
  const apollo = new ApolloServer<BaselineContext>({ schema });
  await apollo.start();
  const app = express();
  app.use(
    '/graphql',
    express.json(),
    expressMiddleware(apollo, {
      context: async ({ req }) => ({ loaders: createLoaders(data), memberId: memberIdOf(req) }),
    }),
  );
  return http.createServer(app);
}
