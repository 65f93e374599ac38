/**
 * The GraphQL operations the benchmark sends, and how one answer to each is checked before its numbers count.
 */
import { toGlobalId } from '../../src/ids.js';
import type { BenchMember } from './data.js';

export const PLANS = 'query Plans { plans { id code name allHours monthlyPriceCents } }';
export const ME = 'query Me { me { id name email role } }';
/** The front desk's access sheet: 50 check-ins with who came in and on which plan. */
export const STAFF_PAGE =
  'query AccessSheet { checkIns(first: 50) { edges { cursor node { id at member { name membership { plan { code } } } } } pageInfo { hasNextPage endCursor } } }';
export const LOGIN =
  'mutation Login($email: String!, $password: String!, $mode: AuthMethod) { login(input: { email: $email, password: $password, mode: $mode }) { method accessToken } }';

/** The JSON body of a GraphQL request. */
export const requestBody = (query: string, variables?: Record<string, unknown>): string => JSON.stringify(variables ? { query, variables } : { query });

/** Says what is wrong with `data`, or null when it is what the operation should answer. */
export type DataCheck = (data: Record<string, any>) => string | null;

export const checkPlans: DataCheck = (data) => (Array.isArray(data.plans) && data.plans.length >= 2 && data.plans.every((p: any) => p.code) ? null : 'expected the plans');

/** `me` must be the member whose credential was sent, not merely someone. */
export const checkMe =
  (member: BenchMember): DataCheck =>
  (data) =>
    data.me?.id === toGlobalId('Member', member.id) && data.me.email === member.email ? null : `expected me to be ${member.email}`;

export const checkStaffPage: DataCheck = (data) => {
  const edges = data.checkIns?.edges;
  if (!Array.isArray(edges) || edges.length !== 50) return 'expected 50 check-ins';
  return edges.every((e: any) => e.node.member.name) ? null : 'expected every check-in to name its member';
};

export const checkLogin: DataCheck = (data) => (typeof data.login?.accessToken === 'string' ? null : 'expected an access token');
