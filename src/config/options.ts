/*
 * The shapes of the options Keycard's configuration parses. They are the configuration's own: the parts that obey
 * them (the rate limits, the socket server, the OpenID Provider) import them from here, so the configuration imports
 * nothing above it.
 */

/** The limits besides the login throttle, each a number of actions per window, per key. */
export interface RateLimitRules {
  /** Sign-ups from one client address (every attempt counts). */
  signUp: RateLimitRule;
  /** Logins for one email, successful or not (the throttle counts failures only). */
  login: RateLimitRule;
  /** Refreshes by one member, over all their families. */
  refresh: RateLimitRule;
  /** Check-ins by one member (a repeat within minutes returns the same check-in, but still counts here). */
  checkIn: RateLimitRule;
  /** Wrong current passwords given to changePassword, per member: their own count, not the login throttle's. */
  passwordCheck: RateLimitRule;
  /** "Sign in with the gym" authorization requests from one client address (each stores an interaction). */
  authorize: RateLimitRule;
  /** Resumptions of those requests from one client address (a sign-in resumes after the password and after consent). */
  authorizeResume: RateLimitRule;
}

/** So many actions per window, per key. */
export interface RateLimitRule {
  points: number;
  windowMs: number;
}

/** What one process lets sockets hold. Per process: they bound what a client can make this process keep. */
export interface LiveLimits {
  maxConnectionsPerMember: number;
  maxConnectionsPerAddress: number;
  maxSubscriptionsPerConnection: number;
  /** Events that may wait for one subscription's slow consumer before it is dropped. */
  maxQueuedEvents: number;
}

/** A website that may ask members to sign in with the gym. */
export interface OidcClientConfig {
  clientId: string;
  redirectUris: string[];
  /** What the gym's pages call the website ("The pool next door"). */
  name: string;
  /** A confidential client's secret (client_secret_basic); none: a public client, held to PKCE alone. */
  secret?: string;
}
