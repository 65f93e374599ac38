/**
 * The credentials the benchmark presents: one token or cookie per member, cycled, as many clients each reusing
 * their own keycard would; and session cookies obtained by real logins over HTTP.
 */
import type { BenchMember } from './data.js';
import { LOGIN, requestBody } from './operations.js';

export interface GraphqlResponse {
  status: number;
  json: { data?: Record<string, any>; errors?: unknown[] } | null;
  setCookie: string[];
}

/** One GraphQL request outside the load runs (logins, samples, SQL counts). */
export async function postGraphql(url: string, body: string, headers: Record<string, string> = {}): Promise<GraphqlResponse> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  let json: GraphqlResponse['json'] = null;
  try {
    json = JSON.parse(text) as GraphqlResponse['json'];
  } catch {
    // Left null: the caller reports the status.
  }
  return { status: res.status, json, setCookie: res.headers.getSetCookie() };
}

/** One member's credential, as the headers of a request. */
export interface Presented {
  member: BenchMember;
  headers: Record<string, string>;
}

/**
 * Hands out credentials in turn, shared by every connection of a run. `reused` counts how often it had to start over,
 * which matters only for credentials that must never be seen twice (token-cold).
 */
export class Rotation {
  private index = 0;
  reused = 0;

  constructor(
    private readonly members: readonly BenchMember[],
    private readonly headersOf: (i: number) => Record<string, string>,
    private readonly size = members.length,
  ) {
    if (size === 0) throw new Error('a rotation needs at least one credential');
  }

  next(): Presented {
    if (this.index === this.size) {
      this.index = 0;
      this.reused++;
    }
    const i = this.index++;
    return { member: this.members[i % this.members.length]!, headers: this.headersOf(i) };
  }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Runs `task` over `items` with at most `concurrency` at once, keeping the order of the results. */
async function mapConcurrently<T, R>(items: readonly T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/**
 * Signs each member in with `mode: SESSION` and returns their cookies (`name=value`), in order. Password checks run on
 * the server's thread pool, so a few at a time keep it busy without queueing hundreds.
 */
export function loginSessions(url: string, members: readonly BenchMember[], password: string, concurrency = 16): Promise<string[]> {
  return mapConcurrently(members, concurrency, async (member) => {
    const res = await postGraphql(url, requestBody(LOGIN, { email: member.email, password, mode: 'SESSION' }));
    const cookie = res.setCookie[0]?.split(';')[0];
    if (res.status !== 200 || res.json?.errors || !cookie) {
      throw new Error(`session login of ${member.email} failed: HTTP ${res.status} ${JSON.stringify(res.json).slice(0, 300)}`);
    }
    return cookie;
  });
}
