import express, { type Router } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { PoolConfig } from '../config.js';
import type { PoolData } from '../db/data.js';
import { toPublicLoopbackHost } from './loopback.js';
import { frontPage, sessionForm } from './pages.js';
import type { PoolSessions } from './sessions.js';
import { signInFlow } from './sign-in.js';
import { swim } from './swim.js';

export interface PoolSiteOptions {
  config: PoolConfig;
  db: PoolData;
  schema: GraphQLSchema;
  sessions: PoolSessions;
  log: Logger;
}

/**
 * The pool's website: "Sign in with the gym" (the gym is an OpenID Provider, the pool its client, through
 * openid-client: the code flow with PKCE, state and nonce checked by the library), sessions of the pool's own in its
 * database, and a Swim button that runs the same @auth-guarded `swim` as the pool's GraphQL API, for the swimmer the
 * session holds.
 *
 * While the gym is down a swimmer already signed in keeps swimming (the session is the pool's, the visits its own);
 * signing in anew says the gym cannot be reached.
 */
export function poolSite(options: PoolSiteOptions): Router {
  const { config, db, schema, log, sessions } = options;
  const router = express.Router();
  const withSession = sessions.middleware;
  const samePublicHost = toPublicLoopbackHost(config.publicUrl);
  const ownForm = sessionForm(config.publicUrl);
  const signIn = signInFlow({ config, sessions, log });
  router.use(express.urlencoded({ extended: false, limit: '2kb' }));
  router.get('/', samePublicHost, withSession, frontPage(db, config.timezone));
  router.get('/login', samePublicHost, withSession, signIn.start);
  router.get('/callback', withSession, signIn.finish);
  router.post('/swim', withSession, ownForm, swim(db, schema, log));
  router.post('/logout', withSession, ownForm, signIn.end);
  return router;
}
