import type { Site } from '../../shared/pages.js';

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;background:#e8f4fa;color:#10222b;margin:0}main{max-width:30rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0001}.brand{font-weight:700;color:#0a6c93;margin:0}h1{font-size:1.5rem}h2{font-size:1.1rem}a.button,button{display:inline-block;margin-top:.5rem;padding:.6rem 1.2rem;font:inherit;background:#0a6c93;color:#fff;border:0;border-radius:6px;text-decoration:none;cursor:pointer}button.secondary{background:#dde7ec;color:#10222b}.notice{background:#fff6d6;padding:.6rem .8rem;border-radius:6px}`;

/** The pool's look: its pages' forms go to the pool only. */
export const POOL_SITE: Site = { brand: 'The pool next door', style: STYLE, formAction: "'self'" };
