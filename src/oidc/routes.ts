/**
 * Where the provider answers. Under /oidc/, so the provider answers only there (and for discovery) and every other path
 * stays Keycard's; the endpoints Keycard leaves off still get a path there, never one of Keycard's own.
 */
export const PROVIDER_ROUTES = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  userinfo: '/oidc/me',
  revocation: '/oidc/token/revocation',
  end_session: '/oidc/session/end',
  code_verification: '/oidc/device',
  device_authorization: '/oidc/device/auth',
  backchannel_authentication: '/oidc/backchannel',
  pushed_authorization_request: '/oidc/request',
  registration: '/oidc/reg',
  introspection: '/oidc/token/introspection',
  challenge: '/oidc/challenge',
  jwks: '/.well-known/jwks.json',
};

/**
 * Which requests the provider answers: its discovery document, and its endpoints under /oidc/ with the methods they
 * take (the authorization endpoint and its resumption by uid, the token, userinfo and revocation endpoints). Anything
 * else stays Keycard's (a JSON 404), never the provider's plain-text one.
 */
export function isProviderRoute(method: string, path: string): boolean {
  if (path === '/.well-known/openid-configuration') return method === 'GET' || method === 'HEAD';
  // OpenID Connect Core 3.1.2.1: the authorization endpoint takes GET and POST (a form); its resumption is a redirect.
  if (path === '/oidc/auth') return method === 'GET' || method === 'POST';
  if (isAuthorizationPath(path)) return method === 'GET';
  if (path === '/oidc/token' || path === '/oidc/token/revocation') return method === 'POST';
  if (path === '/oidc/me') return method === 'GET' || method === 'POST';
  return false;
}

/** The authorization endpoint, or its resumption by interaction uid: each stores or resumes an interaction. */
export function isAuthorizationPath(path: string): boolean {
  return path === '/oidc/auth' || /^\/oidc\/auth\/[\w-]{1,64}$/.test(path);
}
