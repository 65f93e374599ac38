import type { OidcClientConfig } from './options.js';
import type { Variables } from './variables.js';

/** A partner's audience, and a client's id: short, lower case, safe in a URL and a log line. */
const AUDIENCE = /^[a-z][a-z0-9-]{0,31}$/;
/** One OAuth scope token: printable ASCII without space, `"` or `\`. */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** The list entries of a comma-separated variable, trimmed, the empty ones dropped. */
function entries(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/** `id=value` split at its first `=`, both sides trimmed; no id when there is no `=` or nothing before it. */
function keyed(entry: string): { id: string | undefined; value: string } {
  const at = entry.indexOf('=');
  return { id: at > 0 ? entry.slice(0, at).trim() : undefined, value: entry.slice(at + 1).trim() };
}

/** `pool=pool:swim, spa=spa:enter spa:towel` → audience → scopes; null when malformed. */
export function parsePartners(text: string): Map<string, string[]> | null {
  const partners = new Map<string, string[]>();
  for (const entry of entries(text)) {
    const [audience, scopes = ''] = entry.split('=').map((s) => s.trim());
    const list = scopes.split(/\s+/).filter(Boolean);
    // The gym's own audience is never a partner: a partner token must never open the gym.
    if (!audience || !AUDIENCE.test(audience) || audience === 'keycard' || list.length === 0 || !list.every((s) => SCOPE.test(s))) return null;
    partners.set(audience, list);
  }
  return partners;
}

/** OIDC_CLIENT_NAMES: what the gym's pages call each client. The pool next door has its name without being told. */
function clientNames(text: string, problems: string[]): Map<string, string> {
  const names = new Map<string, string>([['pool', 'The pool next door']]);
  for (const entry of entries(text)) {
    const { id, value: name } = keyed(entry);
    // A name is shown on the gym's own pages: printable, short, and never mistaken for markup (it is escaped anyway).
    if (!id || !AUDIENCE.test(id) || name.length === 0 || name.length > 60 || /[\p{Cc}\p{Cf}<>]/u.test(name)) {
      problems.push('OIDC_CLIENT_NAMES: must be client=name entries separated by commas (a name of 1 to 60 printable characters), e.g. pool=The pool next door');
    } else names.set(id, name);
  }
  return names;
}

/** OIDC_CLIENT_SECRETS: each confidential client's secret, at least 32 characters. */
function clientSecrets(text: string, problems: string[]): Map<string, string> {
  const secrets = new Map<string, string>();
  for (const entry of entries(text)) {
    const { id, value: secret } = keyed(entry);
    if (!id || !AUDIENCE.test(id)) problems.push('OIDC_CLIENT_SECRETS: must be client=secret entries separated by commas');
    else if (secret.length < 32) problems.push(`OIDC_CLIENT_SECRETS: the secret of ${id} must be at least 32 characters`);
    else secrets.set(id, secret);
  }
  return secrets;
}

/** One OIDC_CLIENTS entry, `client=redirect_uri[ redirect_uri...]`: its id and redirect URIs, or null when malformed. */
function clientEntry(entry: string): { id: string; redirectUris: string[] } | null {
  const [id = '', uris = ''] = entry.split('=').map((s) => s.trim());
  const redirectUris = uris.split(/\s+/).filter(Boolean);
  const valid = AUDIENCE.test(id) && redirectUris.length > 0 && redirectUris.every((uri) => /^https?:\/\/[^\s#]+$/.test(uri) && URL.canParse(uri));
  return valid ? { id, redirectUris } : null;
}

/**
 * `pool=https://pool.example/callback, spa=https://spa.example/cb https://spa.example/cb2` with the secrets of
 * `pool=<secret>, ...` and the names of `spa=The spa upstairs, ...`: the clients, or the problems.
 */
function parseOidcClients(text: string, secretsText: string, namesText: string, production: boolean): { clients: OidcClientConfig[]; problems: string[] } {
  const problems: string[] = [];
  const names = clientNames(namesText, problems);
  const secrets = clientSecrets(secretsText, problems);
  const clients: OidcClientConfig[] = [];
  for (const entry of entries(text)) {
    const client = clientEntry(entry);
    if (!client) {
      problems.push('OIDC_CLIENTS: must be client=redirect_uri[ redirect_uri...] entries separated by commas, e.g. pool=https://pool.example/callback');
      continue;
    }
    const { id, redirectUris } = client;
    if (production && !secrets.has(id)) problems.push(`OIDC_CLIENT_SECRETS: production needs a secret for the client ${id}`);
    if (production && redirectUris.some((uri) => uri.startsWith('http:'))) problems.push(`OIDC_CLIENTS: production redirects ${id} over HTTPS only`);
    clients.push({ clientId: id, redirectUris, name: names.get(id) ?? id, ...(secrets.has(id) ? { secret: secrets.get(id)! } : {}) });
  }
  return { clients, problems };
}

/**
 * In development the pool next door is a registered client where `npm run pool` serves it (POOL_PUBLIC_URL, else
 * http://localhost:POOL_PORT, read as the pool reads them, so one environment moves both), a public one (PKCE alone:
 * there is no secret to share with it on a laptop); production registers only the clients it is given, each with a
 * secret. One redirect URI on one host: a pairwise client whose redirects span hosts needs a sector identifier, and
 * the pool sends a person who typed another loopback name (127.0.0.1) to its public URL before signing in.
 */
function developmentClients(poolPublicUrl: string | undefined, poolPort: number): string {
  return `pool=${(poolPublicUrl ?? `http://localhost:${poolPort}`).replace(/\/+$/, '')}/callback`;
}

/** The clients the environment registers: OIDC_CLIENTS, or the pool next door in development. */
export function oidcClientsOf(e: Variables, production: boolean): { clients: OidcClientConfig[]; problems: string[] } {
  const clients = e.OIDC_CLIENTS ?? (production ? '' : developmentClients(e.POOL_PUBLIC_URL, e.POOL_PORT));
  return parseOidcClients(clients, e.OIDC_CLIENT_SECRETS ?? '', e.OIDC_CLIENT_NAMES, production);
}
