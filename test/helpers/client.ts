import type { LoginMutation, TypedDocumentString } from './__generated__/graphql.js';
import { graphql } from './__generated__/index.js';

/** A GraphQL error as the server sends it. */
export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export interface GqlResponse<T = any> {
  status: number;
  headers: Headers;
  data: T | null | undefined;
  errors: GqlError[] | undefined;
  setCookies: string[];
}

/**
 * A tiny HTTP GraphQL client with a cookie jar, the way a browser would hold Keycard's session cookie: it stores
 * what Set-Cookie says (dropping expired cookies) and sends it back. Nothing is mocked: real fetch, real server.
 */
export class Client {
  readonly cookies = new Map<string, string>();
  /** Sent with every request (e.g. Authorization). */
  headers: Record<string, string> = {};

  constructor(readonly url: string) {}

  /** The Cookie header this client would send. */
  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /**
   * Posts an operation. One written with `graphql()` answers with data of its own type and takes only its own
   * variables; a plain string (an operation a test means to be wrong, or one not converted yet) answers `any`.
   */
  gql<TResult, TVariables>(query: TypedDocumentString<TResult, TVariables>, variables?: TVariables, headers?: Record<string, string>): Promise<GqlResponse<TResult>>;
  gql<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResponse<T>>;
  async gql(query: string | TypedDocumentString<unknown, unknown>, variables?: unknown, headers: Record<string, string> = {}): Promise<GqlResponse> {
    const cookie = this.cookieHeader();
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}), ...this.headers, ...headers },
      body: JSON.stringify({ query: String(query), variables }),
    });
    const setCookies = res.headers.getSetCookie();
    this.absorb(setCookies);
    const text = await res.text();
    let body: { data?: unknown; errors?: GqlError[] } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`non-JSON response (${res.status}): ${text.slice(0, 200)}`);
    }
    return { status: res.status, headers: res.headers, data: body.data, errors: body.errors, setCookies };
  }

  private absorb(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const expires = attributes.find((a) => a.toLowerCase().startsWith('expires='));
      const maxAge = attributes.find((a) => a.toLowerCase().startsWith('max-age='));
      const expired =
        (expires && new Date(expires.slice(8)).getTime() <= Date.now()) || (maxAge && Number(maxAge.slice(8)) <= 0);
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** The codes of a response's errors, in order. */
export function codes(res: Pick<GqlResponse, 'errors'>): string[] {
  return (res.errors ?? []).map((e) => String(e.extensions?.code));
}

export const DEMO = {
  admin: { email: 'admin@keycard.test', password: 'keycard-admin-pass' },
  staff: { email: 'staff@keycard.test', password: 'keycard-staff-pass' },
  alice: { email: 'alice@keycard.test', password: 'keycard-alice-pass' },
  bob: { email: 'bob@keycard.test', password: 'keycard-bob-pass' },
} as const;
export type DemoName = keyof typeof DEMO;

/** The response's data, or a failure that shows the errors the server sent instead. */
export function dataOf<T>(res: Pick<GqlResponse<T>, 'data' | 'errors'>): T {
  if (res.data === null || res.data === undefined) throw new Error(`no data: ${JSON.stringify(res.errors)}`);
  return res.data;
}

/** The header that presents an access token. */
export function bearer(accessToken: string): { authorization: string } {
  return { authorization: `Bearer ${accessToken}` };
}

export const LOGIN = graphql(/* GraphQL */ `
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      method
      accessToken
      accessTokenExpiresAt
      refreshToken
      refreshTokenExpiresAt
      member { id name email role }
    }
  }
`);

/** A new client signed in as a demo member with a session cookie. */
export async function sessionClient(url: string, who: DemoName): Promise<Client> {
  const client = new Client(url);
  const res = await client.gql(LOGIN, { input: { ...DEMO[who], mode: 'SESSION' } });
  if (res.errors) throw new Error(`login as ${who} failed: ${JSON.stringify(res.errors)}`);
  return client;
}

/** What a sign-in with a keycard gives the app: both tokens, when each expires, and who signed in. */
export interface Keycard {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  member: LoginMutation['login']['member'];
}

/**
 * Signs a demo member in with a keycard (login, mode TOKEN), as an app that keeps its tokens would; throws when the
 * gym refuses. `headers` go with the login (a client address, a stale Authorization header).
 */
export async function signInWithKeycard(url: string, who: DemoName, headers: Record<string, string> = {}): Promise<Keycard> {
  const res = await new Client(url).gql(LOGIN, { input: { ...DEMO[who], mode: 'TOKEN' } }, headers);
  const login = res.data?.login;
  if (!login?.accessToken || !login.accessTokenExpiresAt || !login.refreshToken || !login.refreshTokenExpiresAt) {
    throw new Error(`login as ${who} failed: ${JSON.stringify(res.errors)}`);
  }
  const { accessToken, accessTokenExpiresAt, refreshToken, refreshTokenExpiresAt, member } = login;
  return { accessToken, accessTokenExpiresAt, refreshToken, refreshTokenExpiresAt, member };
}
