import type { Logger } from 'pino';
import type { AccessTokens } from '../auth/access-tokens.js';
import type { PartnerTokens } from '../auth/partner-tokens.js';
import type { RateLimits } from '../auth/rate-limits.js';
import type { RefreshTokens } from '../auth/refresh-tokens.js';
import type { Sessions } from '../auth/sessions.js';
import type { LoginThrottle } from '../auth/throttle.js';
import type { GymStrategy } from '../auth/viewer.js';
import type { Config } from '../config.js';
import type { GymData } from '../db/data.js';
import type { LiveEvents } from '../live/events.js';

/**
 * What lives as long as the server, built once in createApp: every service takes it first, whichever transport (a
 * GraphQL resolver, the OpenID sign-in page, a socket) calls it.
 */
export interface Services {
  /** The gym's database, on the engine DATABASE_URL names: every statement and atomic step goes through it. */
  data: GymData;
  config: Config;
  throttle: LoginThrottle;
  /** Sign-ups per address; logins, refreshes, check-ins and current-password checks per member. */
  rateLimits: RateLimits;
  /** The access sheet: express-session, its strategy and each request's control. */
  sessions: Sessions;
  accessTokens: AccessTokens;
  refreshTokens: RefreshTokens;
  partnerTokens: PartnerTokens;
  /** In order: the first that claims a request decides (the bearer header, then the session cookie). */
  strategies: readonly GymStrategy[];
  /** Check-ins and changes of credentials as they happen, between every process serving the gym. */
  live: LiveEvents;
  log: Logger;
}
