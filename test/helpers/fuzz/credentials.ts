import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Client, DEMO, LOGIN, sessionClient } from '../client.js';
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
  role: string;
  status: string;
  password_hash: string;
}

/**
 * Holds the real credentials and keeps them working. A fuzzed request may legitimately log the staff session out,
 * change a demo member's password or suspend them (the admin keycard may do that to staff); between requests the
 * demo members get their role, status and password back and the staff session signs in again, so that later
 * requests still reach the guarded resolvers with each role.
 */
export class Credentials {
  private memberToken = '';
  private adminToken = '';
  private expiredToken = '';
  private partnerToken = '';
  private staffCookie = '';
  private fixed: FixedMember[] = [];

  constructor(private readonly app: TestApp) {}

  async signIn(): Promise<void> {
    const token = async (who: 'alice' | 'admin') => {
      const res = await new Client(this.app.url).gql(LOGIN, { input: { ...DEMO[who], mode: 'TOKEN' } });
      if (!res.data?.login) throw new Error(`login as ${who} failed: ${JSON.stringify(res.errors)}`);
      return res.data.login as { accessToken: string; member: { id: string } };
    };
    const [alice, admin] = await Promise.all([token('alice'), token('admin')]);
    this.memberToken = alice.accessToken;
    this.adminToken = admin.accessToken;
    await this.signInStaff();
    const partner = await new Client(this.app.url).gql('mutation { issuePartnerToken(audience: "pool") { token } }', undefined, { authorization: `Bearer ${alice.accessToken}` });
    if (!partner.data?.issuePartnerToken) throw new Error(`no partner token: ${JSON.stringify(partner.errors)}`);
    this.partnerToken = partner.data.issuePartnerToken.token;
    // Signed with the gym's real key, long expired: refused for its age alone.
    const { id, role, tokenVersion } = this.app.database.sqlite.prepare("select id, role, token_version as tokenVersion from members where email = ?").get(DEMO.alice.email) as {
      id: number;
      role: 'MEMBER';
      tokenVersion: number;
    };
    this.expiredToken = this.app.keycard.services.accessTokens.issue({ id, role, tokenVersion }, randomUUID(), Date.now() - 2 * 3_600_000).token;
    const emails = Object.values(DEMO).map((d) => d.email);
    this.fixed = this.app.database.sqlite
      .prepare(`select id, role, status, password_hash from members where email in (${emails.map(() => '?').join(', ')})`)
      .all(...emails) as FixedMember[];
  }

  private async signInStaff(): Promise<void> {
    this.staffCookie = (await sessionClient(this.app.url, 'staff')).cookieHeader();
  }

  headers(credential: Credential): Record<string, string> {
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    switch (credential.name) {
      case 'anonymous':
        return {};
      case 'member keycard':
        return bearer(this.memberToken);
      case 'staff session':
        return { cookie: this.staffCookie };
      case 'admin keycard':
        return bearer(this.adminToken);
      case 'member keycard beside a staff session':
        return { ...bearer(this.memberToken), cookie: this.staffCookie };
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
    const { authorization, cookie } = this.headers(credential);
    return [authorization?.replace(/^Bearer /, ''), cookie?.slice(cookie.indexOf('=') + 1)].filter((s): s is string => !!s);
  }

  /**
   * After a request that ran (with `credential`): puts the demo members back as seeded, and signs staff in again if the
   * staff session may have ended (it was used, or its member was changed) and did.
   */
  async repair(credential: Credential): Promise<void> {
    const sqlite = this.app.database.sqlite;
    const current = sqlite.prepare('select role, status, password_hash from members where id = ?');
    const restore = sqlite.prepare('update members set role = ?, status = ?, password_hash = ? where id = ?');
    let staffChanged = false;
    for (const member of this.fixed) {
      const now = current.get(member.id) as Omit<FixedMember, 'id'>;
      if (now.role !== member.role || now.status !== member.status || now.password_hash !== member.password_hash) {
        restore.run(member.role, member.status, member.password_hash, member.id);
        if (member.role === 'STAFF') staffChanged = true;
      }
    }
    if (!staffChanged && !this.headers(credential).cookie?.includes(this.staffCookie)) return;
    const viewer = await new Client(this.app.url).gql('{ viewer { role } }', undefined, { cookie: this.staffCookie });
    if (viewer.data?.viewer?.role !== 'STAFF') await this.signInStaff();
  }
}
