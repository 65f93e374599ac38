import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { Services } from '../services/services.js';
import { clientAddressOf } from '../shared/addresses.js';
import { KeycardError } from '../shared/errors.js';
import { login } from '../services/auth.js';
import { standingOf } from './accounts.js';
import { InteractionPages } from './interaction-pages.js';

export interface InteractionOptions {
  /** The provider as it is now (it is made anew when the key ring changes). */
  provider: () => Provider;
  services: Services;
  /** Origins a form may be sent on to (the clients' redirect URIs): the redirect after a form is a form action too. */
  clientOrigins: string[];
  log: Logger;
}

/** What every step's handler works with: the gym's provider as it is now, its services, and its pages. */
interface Interaction {
  provider: () => Provider;
  services: Services;
  pages: InteractionPages;
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
  const { services } = options;
  const pages = new InteractionPages(services.config.sessionSecrets[0]!, options.clientOrigins, options.log);
  const gym: Interaction = { provider: options.provider, services, pages };
  const ownForm = ownFormsOnly(new URL(services.config.publicUrl).origin, pages);
  const router = express.Router();
  router.use(express.urlencoded({ extended: false, limit: '10kb' }));
  router.get('/:uid', step(gym, showStep));
  router.post('/:uid/login', ownForm, step(gym, signIn));
  router.post('/:uid/confirm', ownForm, step(gym, confirm));
  router.post('/:uid/abort', ownForm, step(gym, abort));
  return router;
}

/** A step's handler, whose failure is answered with a page (see InteractionPages.failed). */
function step(gym: Interaction, handler: (gym: Interaction, req: Request, res: Response) => Promise<void>): RequestHandler {
  return async (req, res) => {
    try {
      await handler(gym, req, res);
    } catch (err) {
      gym.pages.failed(res, err);
    }
  };
}

/** Only forms the gym's own pages sent: a cross-site post fails here even before its token is looked at. */
function ownFormsOnly(own: string, pages: InteractionPages): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== own && origin !== `${req.protocol}://${req.headers.host}`) {
      pages.notAllowed(res, 'This form can only be sent from the gym’s own page.');
      return;
    }
    if (!pages.validToken(String(req.params.uid), (req.body as Record<string, unknown>)?.csrf)) {
      pages.notAllowed(res, 'This form has expired. Go back to the website and start again.');
      return;
    }
    next();
  };
}

/** `GET /interaction/:uid`: the sign-in page, or straight through for a member on the access sheet; else the consent page. */
async function showStep(gym: Interaction, req: Request, res: Response): Promise<void> {
  const details = await gym.provider().interactionDetails(req, res);
  const clientName = await nameOf(gym.provider(), details.params.client_id);
  if (details.prompt.name === 'login') {
    // Already on the access sheet (a request that came without the gym's cookie, such as a POST from another site,
    // meets it here): the member only confirms at the consent step. Not when the website asked for the password
    // itself (prompt=login), or for a sign-in more recent than the sheet's (max_age): then the password it is.
    const onSheet = details.prompt.reasons.includes('login_prompt') ? null : await gym.services.sessions.accessSheetEntry(req);
    const maxAge = details.params.max_age === undefined ? Infinity : Number(details.params.max_age);
    if (onSheet && Date.now() / 1000 - onSheet.authTime <= maxAge) return await signedIn(gym, req, res, onSheet.memberId, onSheet.authTime);
    return gym.pages.signIn(res, details.uid, clientName);
  }
  gym.pages.consent(res, details.uid, clientName, String(details.params.scope ?? ''));
}

/** `POST /interaction/:uid/login`: the password, checked by Keycard's own sign-in. */
async function signIn(gym: Interaction, req: Request, res: Response): Promise<void> {
  const details = await gym.provider().interactionDetails(req, res);
  if (details.prompt.name !== 'login') return gym.pages.startAgain(res, 'This step is already done.');
  const body = req.body as Record<string, unknown>;
  const email = typeof body.email === 'string' ? body.email : '';
  const password = typeof body.password === 'string' ? body.password : '';
  const clientName = await nameOf(gym.provider(), details.params.client_id);
  const actor = { viewer: null, clientAddress: clientAddressOf(req), session: gym.services.sessions.control(req, res) };
  let memberId: number;
  try {
    // Keycard's own sign-in: the password check, the throttle, and a session on the access sheet.
    const payload = await login(gym.services, actor, { email, password, mode: 'SESSION' });
    memberId = payload.member.id;
  } catch (err) {
    if (err instanceof KeycardError) return gym.pages.signIn(res, details.uid, clientName, err.message, email);
    throw err;
  }
  await signedIn(gym, req, res, memberId, Math.floor(Date.now() / 1000));
}

/** Finishes the sign-in for a member, or tells them why the gym will not let them through. */
async function signedIn(gym: Interaction, req: Request, res: Response, memberId: number, authTime: number): Promise<void> {
  const standing = await standingOf(gym.services.data, String(memberId));
  if (standing === null || typeof standing === 'string') return gym.pages.refused(res, standing ?? 'suspended');
  // remember: false: the provider's cookie ends with the browser, and counts only beside the access sheet's anyway.
  // `ts` is when the password was given (now, or the access sheet's sign-in), so auth_time and max_age hold to it.
  const login = { accountId: String(memberId), remember: false, ts: authTime };
  await gym.provider().interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

/** `POST /interaction/:uid/confirm`: the member allows the website; the grant gets what the request still lacks. */
async function confirm(gym: Interaction, req: Request, res: Response): Promise<void> {
  const provider = gym.provider();
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name !== 'consent' || !details.session?.accountId) return gym.pages.startAgain(res, 'This step is already done.');
  // Consent is the member's on the access sheet now: a browser signed in as someone else meanwhile (a shared
  // computer) cannot allow a website in the first member's name.
  if (String((await gym.services.sessions.accessSheetEntry(req))?.memberId) !== details.session.accountId) {
    return gym.pages.startAgain(res, 'You are no longer signed in at the gym as the member this was for. Go back to the website and start again.');
  }
  const { prompt, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
  if (!grant) return gym.pages.startAgain(res, 'This sign-in has expired.');
  const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

/** `POST /interaction/:uid/abort`: Cancel or Deny; the website hears access_denied. */
async function abort(gym: Interaction, req: Request, res: Response): Promise<void> {
  await gym.provider().interactionFinished(
    req,
    res,
    { error: 'access_denied', error_description: 'The member did not allow it.' },
    { mergeWithLastSubmission: false },
  );
}

/** The website as the member knows it: its registered name ("The pool next door"), not its client id. */
async function nameOf(provider: Provider, clientId: unknown): Promise<string> {
  return (await provider.Client.find(String(clientId)))?.clientName ?? String(clientId);
}
