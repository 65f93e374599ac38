import type { RequestHandler, Response } from 'express';
import type { PoolData } from '../db/data.js';
import { recentVisits } from '../visits.js';
import { escapeHtml, sameSecret, sendPage, type Site } from '../../shared/pages.js';
import { swimmerOf } from './sessions.js';
import { visitTimes } from './visit-times.js';

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;background:#e8f4fa;color:#10222b;margin:0}main{max-width:30rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0001}.brand{font-weight:700;color:#0a6c93;margin:0}h1{font-size:1.5rem}h2{font-size:1.1rem}a.button,button{display:inline-block;margin-top:.5rem;padding:.6rem 1.2rem;font:inherit;background:#0a6c93;color:#fff;border:0;border-radius:6px;text-decoration:none;cursor:pointer}button.secondary{background:#dde7ec;color:#10222b}.notice{background:#fff6d6;padding:.6rem .8rem;border-radius:6px}`;

/** The pool's look: its pages' forms go to the pool only. */
export const POOL_SITE: Site = { brand: 'The pool next door', style: STYLE, formAction: "'self'" };

/**
 * The notices a redirect back to the front page may ask for, by name: fixed words, so a link carrying one can show
 * nothing else (and changes nothing: the session is never written for a notice).
 */
const NOTICES = {
  swum: 'Enjoy your swim!',
  'swim-failed': 'The pool could not let you in just now. Try again.',
  denied: 'You did not allow the pool to use your gym account, so you are not signed in.',
} as const;

/** Sends one of the pool's pages. */
export function poolPage(res: Response, status: number, title: string, body: string): void {
  sendPage(res, POOL_SITE, status, title, body);
}

/** `GET /`: an invitation to sign in, or the swimmer's Swim button, their recent visits and Sign out. */
export function frontPage(db: PoolData, timezone: string): RequestHandler {
  return async (req, res) => {
    const swimmer = swimmerOf(req);
    const name = req.query.notice;
    const notice = typeof name === 'string' && Object.hasOwn(NOTICES, name) ? NOTICES[name as keyof typeof NOTICES] : '';
    const noticeHtml = notice ? `<p class="notice" role="status">${escapeHtml(notice)}</p>` : '';
    if (!swimmer) {
      poolPage(res, 200, 'The pool next door', `${noticeHtml}<p>Gym members swim free. Sign in with your gym account to swim.</p><p><a class="button" href="/login">Sign in with the gym</a></p>`);
      return;
    }
    const visits = await recentVisits(db, swimmer.sub);
    poolPage(
      res,
      200,
      'The pool next door',
      noticeHtml +
        `<p>Signed in as <strong class="swimmer">${escapeHtml(swimmer.name)}</strong>.</p>` +
        `<form method="post" action="/swim"><input type="hidden" name="csrf" value="${escapeHtml(swimmer.csrf)}"><button type="submit">Swim</button></form>` +
        `<h2>Your visits</h2>${visits.length ? `<ul class="visits">${visitTimes(visits.slice(0, 10), timezone)}</ul>` : '<p>None yet.</p>'}` +
        `<form method="post" action="/logout"><input type="hidden" name="csrf" value="${escapeHtml(swimmer.csrf)}"><button type="submit" class="secondary">Sign out</button></form>`,
    );
  };
}

/** Only a form of this session's own pages: a signed-in swimmer, from the pool's origin, carrying the session's token. */
export function sessionForm(publicUrl: string): RequestHandler {
  return (req, res, next) => {
    const swimmer = swimmerOf(req);
    const given = (req.body as Record<string, unknown> | undefined)?.csrf;
    const origin = req.headers.origin;
    const sameOrigin = origin === undefined || origin === publicUrl || origin === `${req.protocol}://${req.headers.host}`;
    if (!swimmer || !sameOrigin || !sameSecret(given, swimmer.csrf)) {
      poolPage(res, 403, 'Not allowed', '<p>This form has expired. <a href="/">Back to the pool</a>.</p>');
      return;
    }
    next();
  };
}
