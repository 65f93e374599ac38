import { createHmac } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { isDatabaseUnavailable, KeycardError } from '../shared/errors.js';
import { login } from '../services/auth.js';
import type { Services } from '../services/services.js';
import { addressKey } from '../shared/addresses.js';
import { escapeHtml, sameSecret, sendPage, type Site } from '../shared/pages.js';
import { standingOf } from './provider.js';

/** What the member is told when the gym will not let them through, by reason. */
const REFUSALS = {
  suspended: 'Your membership of the gym is suspended. Ask at the front desk.',
  'no membership': 'You have no active membership at the gym, so you cannot use it to sign in here. Renew it at the front desk.',
} as const;

/** The scopes as a member reads them on the consent page. */
const SCOPE_WORDS: Record<string, string> = {
  openid: 'know that it is you (a name for you at this website only, not your gym id)',
  profile: 'see your name',
  offline_access: 'keep you signed in while you are away',
  'pool:swim': 'let you swim, until your membership ends',
};

export interface InteractionOptions {
  /** The provider as it is now (it is made anew when the key ring changes). */
  provider: () => Provider;
  services: Services;
  /** Origins a form may be sent on to (the clients' redirect URIs): the redirect after a form is a form action too. */
  clientOrigins: string[];
  log: Logger;
}

/**
 * The gym's own sign-in and consent pages for "Sign in with the gym" (oidc-provider hands over to them at
 * `/interaction/:uid`). Plain server-rendered HTML, no script at all, under a Content-Security-Policy that allows
 * nothing but the page's own style and forms to the gym and the client's redirect; each form carries a token bound to
 * the interaction (and the request must come from the gym's own pages), so another site cannot post them.
 *
 * Signing in is Keycard's own `login` (the same password check, throttle and rate limits), and starts the same
 * session on the access sheet as `login(mode: SESSION)`: a member already signed in at the gym is not asked again.
 */
export function interactionRoutes(options: InteractionOptions): Router {
  const { services, log } = options;
  const secret = services.config.sessionSecrets[0]!;
  const router = express.Router();
  router.use(express.urlencoded({ extended: false, limit: '10kb' }));

  const tokenFor = (uid: string) => createHmac('sha256', secret).update(`interaction\0${uid}`).digest('base64url');
  const validToken = (uid: string, token: unknown) => sameSecret(token, tokenFor(uid));

  const site: Site = {
    brand: 'Keycard gym',
    titleSuffix: ' · Keycard gym',
    style: STYLE,
    formAction: `'self' ${options.clientOrigins.join(' ')}`.trim(),
  };
  const page = (res: Response, status: number, title: string, body: string) => sendPage(res, site, status, title, body);

  const signInPage = (res: Response, uid: string, clientName: string, problem?: string, email = '') =>
    page(
      res,
      problem ? 400 : 200,
      'Sign in with the gym',
      `<p>${escapeHtml(clientName)} asks you to sign in with your gym account.</p>` +
        (problem ? `<p class="problem" role="alert">${escapeHtml(problem)}</p>` : '') +
        `<form method="post" action="/interaction/${escapeHtml(uid)}/login">` +
        `<input type="hidden" name="csrf" value="${tokenFor(uid)}">` +
        `<label>Email <input name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}"></label>` +
        `<label>Password <input name="password" type="password" autocomplete="current-password" required></label>` +
        `<button type="submit">Sign in</button></form>` +
        cancelForm(uid),
    );

  const cancelForm = (uid: string) =>
    `<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><input type="hidden" name="csrf" value="${tokenFor(uid)}">` +
    `<button type="submit" class="secondary">Cancel</button></form>`;

  /** Only forms the gym's own pages sent: a cross-site post fails here even before its token is looked at. */
  const own = new URL(services.config.publicUrl).origin;
  const sameOrigin: RequestHandler = (req, res, next) => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== own && origin !== `${req.protocol}://${req.headers.host}`) {
      page(res, 403, 'Not allowed', '<p>This form can only be sent from the gym’s own page.</p>');
      return;
    }
    if (!validToken(String(req.params.uid), (req.body as Record<string, unknown>)?.csrf)) {
      page(res, 403, 'Not allowed', '<p>This form has expired. Go back to the website and start again.</p>');
      return;
    }
    next();
  };

  const failed = (res: Response, err: unknown) => {
    if (isDatabaseUnavailable(err)) return page(res, 503, 'Try again', '<p>The gym cannot be reached right now. Try again in a moment.</p>');
    // An interaction that is unknown or over (its cookie missing, expired, or from another browser).
    if ((err as { name?: string })?.name === 'SessionNotFound') return page(res, 400, 'Start again', '<p>This sign-in has expired. Go back to the website and start again.</p>');
    log.error({ err }, 'a sign-in with the gym failed');
    return page(res, 500, 'Something went wrong', '<p>Go back to the website and try again.</p>');
  };

  /** Finishes the sign-in for a member, or tells them why the gym will not let them through. */
  const signedIn = async (req: Request, res: Response, memberId: number, authTime: number): Promise<void> => {
    const standing = await standingOf(services.data, String(memberId));
    if (standing === null || typeof standing === 'string') {
      page(res, 403, 'You cannot sign in here', `<p>${escapeHtml(REFUSALS[standing ?? 'suspended'])}</p>`);
      return;
    }
    // remember: false: the provider's cookie ends with the browser, and counts only beside the access sheet's anyway.
    // `ts` is when the password was given (now, or the access sheet's sign-in), so auth_time and max_age hold to it.
    const login = { accountId: String(memberId), remember: false, ts: authTime };
    await options.provider().interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
  };

  /** The website as the member knows it: its registered name ("The pool next door"), not its client id. */
  const nameOf = async (clientId: unknown) => (await options.provider().Client.find(String(clientId)))?.clientName ?? String(clientId);

  router.get('/:uid', async (req, res) => {
    try {
      const details = await options.provider().interactionDetails(req, res);
      const clientName = await nameOf(details.params.client_id);
      if (details.prompt.name === 'login') {
        // Already on the access sheet (a request that came without the gym's cookie, such as a POST from another site,
        // meets it here): the member only confirms at the consent step. Not when the website asked for the password
        // itself (prompt=login), or for a sign-in more recent than the sheet's (max_age): then the password it is.
        const onSheet = details.prompt.reasons.includes('login_prompt') ? null : await services.sessions.accessSheetEntry(req);
        const maxAge = details.params.max_age === undefined ? Infinity : Number(details.params.max_age);
        if (onSheet && Date.now() / 1000 - onSheet.authTime <= maxAge) return await signedIn(req, res, onSheet.memberId, onSheet.authTime);
        return signInPage(res, details.uid, clientName);
      }
      const scopes = String(details.params.scope ?? '').split(' ').filter((s) => s in SCOPE_WORDS);
      return page(
        res,
        200,
        `Allow ${clientName}?`,
        `<p>${escapeHtml(clientName)} would like to:</p><ul>${scopes.map((s) => `<li>${escapeHtml(SCOPE_WORDS[s]!)}</li>`).join('')}</ul>` +
          `<form method="post" action="/interaction/${escapeHtml(details.uid)}/confirm"><input type="hidden" name="csrf" value="${tokenFor(details.uid)}">` +
          `<button type="submit">Allow</button></form>` +
          `<form method="post" action="/interaction/${escapeHtml(details.uid)}/abort"><input type="hidden" name="csrf" value="${tokenFor(details.uid)}">` +
          `<button type="submit" class="secondary">Deny</button></form>`,
      );
    } catch (err) {
      failed(res, err);
    }
  });

  router.post('/:uid/login', sameOrigin, async (req, res) => {
    try {
      const details = await options.provider().interactionDetails(req, res);
      if (details.prompt.name !== 'login') return page(res, 400, 'Start again', '<p>This step is already done.</p>');
      const body = req.body as Record<string, unknown>;
      const email = typeof body.email === 'string' ? body.email : '';
      const password = typeof body.password === 'string' ? body.password : '';
      const clientName = await nameOf(details.params.client_id);
      const actor = { viewer: null, clientAddress: addressKey(req.ip ?? req.socket.remoteAddress), session: services.sessions.control(req, res) };
      let memberId: number;
      try {
        // Keycard's own sign-in: the password check, the throttle, and a session on the access sheet.
        const payload = await login(services, actor, { email, password, mode: 'SESSION' });
        memberId = payload.member.id;
      } catch (err) {
        if (err instanceof KeycardError) return signInPage(res, details.uid, clientName, err.message, email);
        throw err;
      }
      await signedIn(req, res, memberId, Math.floor(Date.now() / 1000));
    } catch (err) {
      failed(res, err);
    }
  });

  router.post('/:uid/confirm', sameOrigin, async (req, res) => {
    try {
      const provider = options.provider();
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name !== 'consent' || !details.session?.accountId) return page(res, 400, 'Start again', '<p>This step is already done.</p>');
      // Consent is the member's on the access sheet now: a browser signed in as someone else meanwhile (a shared
      // computer) cannot allow a website in the first member's name.
      if (String((await services.sessions.accessSheetEntry(req))?.memberId) !== details.session.accountId) {
        return page(res, 400, 'Start again', '<p>You are no longer signed in at the gym as the member this was for. Go back to the website and start again.</p>');
      }
      const { prompt, params, session } = details;
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
      if (!grant) return page(res, 400, 'Start again', '<p>This sign-in has expired.</p>');
      const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    } catch (err) {
      failed(res, err);
    }
  });

  router.post('/:uid/abort', sameOrigin, async (req, res) => {
    try {
      await options.provider().interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The member did not allow it.' },
        { mergeWithLastSubmission: false },
      );
    } catch (err) {
      failed(res, err);
    }
  });

  return router;
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;background:#f4f6f8;color:#1b1f23;margin:0}main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0001}.brand{font-weight:700;color:#0b6e4f;margin:0}h1{font-size:1.4rem}label{display:block;margin:.8rem 0}input{display:block;width:100%;padding:.5rem;font:inherit;box-sizing:border-box}button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit;background:#0b6e4f;color:#fff;border:0;border-radius:6px;cursor:pointer}button.secondary{background:#e4e8ec;color:#1b1f23}.problem{color:#a4262c;font-weight:600}form{display:inline-block;margin-right:.5rem}form:first-of-type{display:block}`;
