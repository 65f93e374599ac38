import { createHmac } from 'node:crypto';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../shared/errors.js';
import { escapeHtml, sameSecret, sendPage, type Site } from '../shared/pages.js';

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

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;background:#f4f6f8;color:#1b1f23;margin:0}main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0001}.brand{font-weight:700;color:#0b6e4f;margin:0}h1{font-size:1.4rem}label{display:block;margin:.8rem 0}input{display:block;width:100%;padding:.5rem;font:inherit;box-sizing:border-box}button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit;background:#0b6e4f;color:#fff;border:0;border-radius:6px;cursor:pointer}button.secondary{background:#e4e8ec;color:#1b1f23}.problem{color:#a4262c;font-weight:600}form{display:inline-block;margin-right:.5rem}form:first-of-type{display:block}`;

/**
 * The gym's sign-in and consent pages, and every answer of theirs that is not the provider's redirect: plain HTML, no
 * script, each form carrying a token bound to its interaction (an HMAC of the uid under the first session secret).
 */
export class InteractionPages {
  private readonly site: Site;

  constructor(
    private readonly secret: string,
    clientOrigins: string[],
    private readonly log: Logger,
  ) {
    this.site = { brand: 'Keycard gym', titleSuffix: ' · Keycard gym', style: STYLE, formAction: `'self' ${clientOrigins.join(' ')}`.trim() };
  }

  /** The token the forms of interaction `uid` carry. */
  tokenFor(uid: string): string {
    return createHmac('sha256', this.secret).update(`interaction\0${uid}`).digest('base64url');
  }

  /** Whether a form's token is the one of interaction `uid`, compared in constant time. */
  validToken(uid: string, token: unknown): boolean {
    return sameSecret(token, this.tokenFor(uid));
  }

  send(res: Response, status: number, title: string, body: string): void {
    sendPage(res, this.site, status, title, body);
  }

  /** The password form, with what went wrong (400) and the email given, when a try was refused. */
  signIn(res: Response, uid: string, clientName: string, problem?: string, email = ''): void {
    this.send(
      res,
      problem ? 400 : 200,
      'Sign in with the gym',
      `<p>${escapeHtml(clientName)} asks you to sign in with your gym account.</p>` +
        (problem ? `<p class="problem" role="alert">${escapeHtml(problem)}</p>` : '') +
        `<form method="post" action="/interaction/${escapeHtml(uid)}/login">` +
        `<input type="hidden" name="csrf" value="${this.tokenFor(uid)}">` +
        `<label>Email <input name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}"></label>` +
        `<label>Password <input name="password" type="password" autocomplete="current-password" required></label>` +
        `<button type="submit">Sign in</button></form>` +
        this.abortForm(uid, 'Cancel'),
    );
  }

  /** What the website asks to do, in words (the scopes the member would not understand are left out), to allow or deny. */
  consent(res: Response, uid: string, clientName: string, scope: string): void {
    const scopes = scope.split(' ').filter((s) => s in SCOPE_WORDS);
    this.send(
      res,
      200,
      `Allow ${clientName}?`,
      `<p>${escapeHtml(clientName)} would like to:</p><ul>${scopes.map((s) => `<li>${escapeHtml(SCOPE_WORDS[s]!)}</li>`).join('')}</ul>` +
        `<form method="post" action="/interaction/${escapeHtml(uid)}/confirm"><input type="hidden" name="csrf" value="${this.tokenFor(uid)}">` +
        `<button type="submit">Allow</button></form>` +
        this.abortForm(uid, 'Deny'),
    );
  }

  /** The gym will not let this member through (403), and why. */
  refused(res: Response, reason: keyof typeof REFUSALS): void {
    this.send(res, 403, 'You cannot sign in here', `<p>${escapeHtml(REFUSALS[reason])}</p>`);
  }

  /** A step that cannot be taken now (400): done already, or for someone else. */
  startAgain(res: Response, message: string): void {
    this.send(res, 400, 'Start again', `<p>${message}</p>`);
  }

  /** A form the gym's own pages did not send for this interaction (403). */
  notAllowed(res: Response, message: string): void {
    this.send(res, 403, 'Not allowed', `<p>${message}</p>`);
  }

  /** A step that failed: the gym unreachable (503), the sign-in over (400), or a fault, logged (500). */
  failed(res: Response, err: unknown): void {
    if (isDatabaseUnavailable(err)) return this.send(res, 503, 'Try again', '<p>The gym cannot be reached right now. Try again in a moment.</p>');
    // An interaction that is unknown or over (its cookie missing, expired, or from another browser).
    if ((err as { name?: string })?.name === 'SessionNotFound') return this.startAgain(res, 'This sign-in has expired. Go back to the website and start again.');
    this.log.error({ err }, 'a sign-in with the gym failed');
    return this.send(res, 500, 'Something went wrong', '<p>Go back to the website and try again.</p>');
  }

  /** The form that ends the interaction without a sign-in (Cancel on the sign-in page, Deny on the consent page). */
  private abortForm(uid: string, label: string): string {
    return (
      `<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><input type="hidden" name="csrf" value="${this.tokenFor(uid)}">` +
      `<button type="submit" class="secondary">${label}</button></form>`
    );
  }
}
