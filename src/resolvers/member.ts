import type { Resolvers } from '../__generated__/resolvers-types.js';
import { changePassword, login, logout, logoutEverywhere, refresh, signUp, type AuthPayloadModel } from '../services/auth.js';
import { memberCheckIns } from '../services/check-ins.js';
import { listMembers, setMemberStatus, setRole } from '../services/members.js';
import type { MemberRow } from '../db/data.js';
import { toGlobalId, idOf } from '../ids.js';
import type { Context } from '../context.js';

/** The request is signed in as whoever signUp, login or refresh just admitted, so the payload's own fields can be read. */
function signedIn(ctx: Context, payload: AuthPayloadModel): AuthPayloadModel {
  ctx.viewer = payload.viewer;
  ctx.authFailure = null;
  return payload;
}

/** The rest of the request reads the member as just written, not as its loader last saw them. */
function fresh(ctx: Context, member: MemberRow): MemberRow {
  ctx.loaders.memberById.clear(member.id).prime(member.id, member);
  return member;
}

export const memberResolvers: Resolvers = {
  Query: {
    viewer: (_parent, _args, { viewer }) => ({ viewer }),
    me: (_parent, _args, { viewer, loaders }) => loaders.memberById.load(viewer!.memberId),
    member: (_parent, { id }, { loaders }) => {
      const memberId = idOf('Member', id);
      return memberId === null ? null : loaders.memberById.load(memberId);
    },
    members: async (_parent, args, ctx) => {
      const page = await listMembers(ctx.services, args);
      // Whatever the page's members are asked for next (their check-ins' member) is already here.
      for (const { node } of page.edges) ctx.loaders.memberById.prime(node.id, node);
      return page;
    },
  },
  Mutation: {
    signUp: async (_parent, { input }, ctx) => signedIn(ctx, await signUp(ctx.services, ctx, input)),
    login: async (_parent, { input }, ctx) => signedIn(ctx, await login(ctx.services, ctx, input)),
    refresh: async (_parent, { refreshToken }, ctx) => signedIn(ctx, await refresh(ctx.services, refreshToken)),
    logout: async (_parent, { refreshToken }, ctx) => {
      ctx.viewer = await logout(ctx.services, ctx, refreshToken);
      return true;
    },
    logoutEverywhere: async (_parent, _args, ctx) => {
      await logoutEverywhere(ctx.services, ctx);
      ctx.loaders.memberById.clear(ctx.viewer!.memberId);
      return true;
    },
    changePassword: async (_parent, { input }, ctx) => {
      const memberId = ctx.viewer!.memberId;
      ctx.viewer = await changePassword(ctx.services, ctx, ctx.loaders, input);
      ctx.loaders.memberById.clear(memberId);
      return true;
    },
    setRole: async (_parent, { memberId, role }, ctx) => fresh(ctx, await setRole(ctx.services, ctx, memberId, role)),
    setMemberStatus: async (_parent, { memberId, status }, ctx) => fresh(ctx, await setMemberStatus(ctx.services, ctx, memberId, status)),
  },
  Member: {
    id: (member) => toGlobalId('Member', member.id),
    membership: (member, _args, { loaders }) => loaders.membershipByMemberId.load(member.id),
    checkIns: (member, args, { loaders }) => memberCheckIns(loaders, member.id, args),
  },
  Viewer: {
    authenticated: ({ viewer }) => viewer !== null,
    method: ({ viewer }) => viewer?.method ?? null,
    member: ({ viewer }, _args, { loaders }) => (viewer ? loaders.memberById.load(viewer.memberId) : null),
    role: ({ viewer }) => viewer?.role ?? null,
    expiresAt: ({ viewer }) => viewer?.expiresAt ?? null,
  },
};
