import type { Resolvers } from '../__generated__/resolvers-types.js';
import { changePassword, login, logout, logoutEverywhere, refresh, signUp, type AuthPayloadModel } from '../services/auth.js';
import { memberCheckIns } from '../services/check-ins.js';
import { listMembers, setMemberStatus, setRole } from '../services/members.js';
import { toGlobalId, idOf } from '../ids.js';
import type { Context } from '../context.js';

/** The request is signed in as whoever signUp or login just admitted, so the payload's own fields can be read. */
function signedIn(ctx: Context, payload: AuthPayloadModel): AuthPayloadModel {
  ctx.viewer = payload.viewer;
  ctx.authFailure = null;
  return payload;
}

export const memberResolvers: Resolvers = {
  Query: {
    viewer: (_parent, _args, { viewer }) => ({ viewer }),
    me: (_parent, _args, { viewer, loaders }) => loaders.memberById.load(viewer!.memberId),
    member: (_parent, { id }, { loaders }) => {
      const memberId = idOf('Member', id);
      return memberId === null ? null : loaders.memberById.load(memberId);
    },
    members: (_parent, args, ctx) => listMembers(ctx, args),
  },
  Mutation: {
    signUp: async (_parent, { input }, ctx) => signedIn(ctx, await signUp(ctx, input)),
    login: async (_parent, { input }, ctx) => signedIn(ctx, await login(ctx, input)),
    refresh: async (_parent, { refreshToken }, ctx) => signedIn(ctx, await refresh(ctx, refreshToken)),
    logout: (_parent, { refreshToken }, ctx) => logout(ctx, refreshToken),
    logoutEverywhere: (_parent, _args, ctx) => logoutEverywhere(ctx),
    changePassword: (_parent, { input }, ctx) => changePassword(ctx, input),
    setRole: (_parent, { memberId, role }, ctx) => setRole(ctx, memberId, role),
    setMemberStatus: (_parent, { memberId, status }, ctx) => setMemberStatus(ctx, memberId, status),
  },
  Member: {
    id: (member) => toGlobalId('Member', member.id),
    membership: (member, _args, { loaders }) => loaders.membershipByMemberId.load(member.id),
    checkIns: (member, args, ctx) => memberCheckIns(ctx, member.id, args),
  },
  Viewer: {
    authenticated: ({ viewer }) => viewer !== null,
    method: ({ viewer }) => viewer?.method ?? null,
    member: ({ viewer }, _args, { loaders }) => (viewer ? loaders.memberById.load(viewer.memberId) : null),
    role: ({ viewer }) => viewer?.role ?? null,
    expiresAt: ({ viewer }) => viewer?.expiresAt ?? null,
  },
};
