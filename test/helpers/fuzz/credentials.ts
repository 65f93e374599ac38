import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Client, DEMO, LOGIN, signInWithKeycard } from '../client.js';
import type { TestApp } from '../app.js';

/**
 * The ways a fuzzed request comes signed in: none, each role by keycard or session, and credentials that must be
 * refused (an expired keycard signed with the real key, a partner's token, garbage in the header or the cookie).
 */

export type CredentialName =
  | 'anonymous'
  | 'member keycard'
  | 'staff session'
  | 'admin keycard'
  | 'member keycard beside a staff session'
  | 'expired keycard'
  | 'partner token'
  | 'garbage bearer'
  | 'garbage cookie';

export interface Credential {
  name: CredentialName;
  /** The generated header value, for the garbage ones. */
  value?: string;
}

const b64 = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), maxLength: 60 });

const garbageAuthorization = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => `Bearer ${s}`),
  fc.tuple(b64, b64, b64).map((parts) => `Bearer ${parts.join('.')}`),
  fc.constantFrom(
    'Bearer',
    'Bearer ',
    'bearer abcdefghijklmnopqrstuvwxyz',
    'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
    'Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJNZW1iZXI6MSIsInJvbGUiOiJBRE1JTiJ9.',
    `Bearer ${'x'.repeat(8_000)}`,
    'Bearer  a  b',
    'Bearer one, Bearer two',
  ),
);

const garbageCookie = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 80 }).map((s) => `keycard.sid=${s}`),
  fc.constantFrom('keycard.sid=s%3Aabcdef.ghijkl', 'keycard.sid=%E0%A4%A', 'keycard.sid=s:', 'keycard.sid', '=', `keycard.sid=s%3A${'a'.repeat(4_000)}.x`, 'keycard.sid=a; keycard.sid=b'),
);

/** Signed-in credentials often (they reach the resolvers), refused ones less, so every path gets its share. */
export const credentialArb: fc.Arbitrary<Credential> = fc.oneof(
  {
    weight: 7,
    arbitrary: fc.constantFrom<CredentialName>(
      'anonymous',
      'member keycard',
      'staff session',
      'admin keycard',
      'member keycard beside a staff session',
      'expired keycard',
      'partner token',
    ).map((name) => ({ name })),
  },
  { weight: 1, arbitrary: garbageAuthorization.map((value): Credential => ({ name: 'garbage bearer', value })) },
  { weight: 1, arbitrary: garbageCookie.map((value): Credential => ({ name: 'garbage cookie', value })) },
);

interface FixedMember {
  id: number;
  email: string;
  role: 'MEMBER' | 'STAFF' | 'ADMIN';
  status: string;
  password_hash: string;
  token_version: number;
}

/** A keycard the fuzzer holds, with the credential version it was issued under. */
interface Keycard {
  token: string;
  version: number;
}

/**
 * Holds the real credentials and keeps them working. A fuzzed request may legitimately log the staff session out,
 * change a demo member's password, suspend them (the admin keycard may do that to staff) or end every keycard they
 * hold (which strict revocation honours at once). Between requests the demo members get their role, status and
 * password back, a keycard whose member's credentials changed is issued again (by the real token service, with the
 * real key), and the staff session signs in again, so that later requests still reach the guarded resolvers.
 */
export class Credentials {
  private member!: Keycard;
  private admin!: Keycard;
  private expiredToken = '';
  private partnerToken = '';
  private staffCookie = '';
  private fixed = new Map<string, FixedMember>();
  private readonly byEmail;

  /** `proxyHeaders` go with every request: what a TLS-terminating proxy adds in production. */
  constructor(
    private readonly app: TestApp,
    private readonly proxyHeaders: Record<string, string> = {},
  ) {
    this.byEmail = app.database.sqlite().prepare('select id, email, role, status, password_hash, token_version from members where email = ?');
  }

  private client(): Client {
    const client = new Client(this.app.url);
    client.headers = { ...this.proxyHeaders };
    return client;
  }

  private row(email: string): FixedMember {
    return this.byEmail.get(email) as FixedMember;
  }

  async signIn(): Promise<void> {
    for (const { email } of Object.values(DEMO)) this.fixed.set(email, this.row(email));
    const login = async (who: 'alice' | 'admin'): Promise<Keycard> => ({
      token: (await signInWithKeycard(this.app.url, who, this.proxyHeaders)).accessToken,
      version: this.row(DEMO[who].email).token_version,
    });
    [this.member, this.admin] = await Promise.all([login('alice'), login('admin')]);
    await this.signInStaff();
    const partner = await this.client().gql('mutation { issuePartnerToken(audience: "pool") { token } }', undefined, { authorization: `Bearer ${this.member.token}` });
    if (!partner.data?.issuePartnerToken) throw new Error(`no partner token: ${JSON.stringify(partner.errors)}`);
    this.partnerToken = partner.data.issuePartnerToken.token;
    // Signed with the gym's real key, long expired: refused for its age alone.
    this.expiredToken = this.issue(DEMO.alice.email, Date.now() - 2 * 3_600_000).token;
  }

  /** A keycard for a demo member as the server's own token service signs it, under their current credentials. */
  private issue(email: string, now = Date.now()): Keycard {
    const { id, role, token_version: tokenVersion } = this.row(email);
    return { token: this.app.keycard.services.accessTokens.issue({ id, role, tokenVersion }, randomUUID(), now).token, version: tokenVersion };
  }

  private async signInStaff(): Promise<void> {
    const client = this.client();
    const res = await client.gql(LOGIN, { input: { ...DEMO.staff, mode: 'SESSION' } });
    if (res.errors) throw new Error(`login as staff failed: ${JSON.stringify(res.errors)}`);
    this.staffCookie = client.cookieHeader();
  }

  headers(credential: Credential): Record<string, string> {
    return { ...this.proxyHeaders, ...this.credentialHeaders(credential) };
  }

  private credentialHeaders(credential: Credential): Record<string, string> {
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    switch (credential.name) {
      case 'anonymous':
        return {};
      case 'member keycard':
        return bearer(this.member.token);
      case 'staff session':
        return { cookie: this.staffCookie };
      case 'admin keycard':
        return bearer(this.admin.token);
      case 'member keycard beside a staff session':
        return { ...bearer(this.member.token), cookie: this.staffCookie };
      case 'expired keycard':
        return bearer(this.expiredToken);
      case 'partner token':
        return bearer(this.partnerToken);
      case 'garbage bearer':
        return { authorization: credential.value ?? '' };
      case 'garbage cookie':
        return { cookie: credential.value ?? '' };
    }
  }

  /** The real secrets a credential sends (a token, the session cookie's value): no answer may repeat them. */
  secrets(credential: Credential): string[] {
    if (credential.name === 'garbage bearer' || credential.name === 'garbage cookie') return [];
    const { authorization, cookie } = this.credentialHeaders(credential);
    return [authorization?.replace(/^Bearer /, ''), cookie?.slice(cookie.indexOf('=') + 1)].filter((s): s is string => !!s);
  }

  /**
   * After a request that ran (with `credential`): puts the demo members back as seeded, issues a keycard again if its
   * member's credentials changed, and signs staff in again if the staff session may have ended (it was used, or its
   * member was changed) and did.
   */
  async repair(credential: Credential): Promise<void> {
    const restore = this.app.database.sqlite().prepare('update members set role = ?, status = ?, password_hash = ? where id = ?');
    let staffChanged = false;
    for (const seeded of this.fixed.values()) {
      const now = this.row(seeded.email);
      if (now.role !== seeded.role || now.status !== seeded.status || now.password_hash !== seeded.password_hash) {
        restore.run(seeded.role, seeded.status, seeded.password_hash, seeded.id);
        if (seeded.role === 'STAFF') staffChanged = true;
      }
      if (seeded.email === DEMO.alice.email && now.token_version !== this.member.version) this.member = this.issue(seeded.email);
      if (seeded.email === DEMO.admin.email && now.token_version !== this.admin.version) this.admin = this.issue(seeded.email);
    }
    if (!staffChanged && !this.credentialHeaders(credential).cookie?.includes(this.staffCookie)) return;
    const viewer = await this.client().gql('{ viewer { role } }', undefined, { cookie: this.staffCookie });
    if (viewer.data?.viewer?.role !== 'STAFF') await this.signInStaff();
  }
}
