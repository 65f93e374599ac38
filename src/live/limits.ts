import { MAX_BODY_BYTES } from '../shared/http-front.js';
import type { LiveLimits } from '../config/options.js';

/**
 * Every limit of the gym's sockets, in one place. A subscription document is held to the same operation limits as
 * HTTP (tokens, depth, aliases, directives, cost) by the GraphQL pipeline both run; these are the socket's own.
 */

/**
 * What one process lets sockets hold, as configured (the WS_MAX_* settings, whose defaults the configuration gives).
 * Per process: they bound what a client can make this process keep.
 */
export type { LiveLimits };

/** The socket's fixed limits. */
export const SOCKET_LIMITS = {
  /** A message's largest size: the HTTP body limit, since a subscription document is no bigger than a query. */
  maxMessageBytes: MAX_BODY_BYTES,
  /** What may wait unsent on one socket before it is cut off: a client that sends and never reads (see serveGraphQLWs). */
  maxBufferedBytes: 1024 * 1024,
  /** How long a socket may take to send `connection_init` before graphql-ws closes it (4408). */
  connectionInitWaitMs: 3_000,
  /** Keep-alive: a ping every 12 s, and a socket that has not answered by the next one is dropped (see serveGraphQLWs). */
  keepAliveMs: 12_000,
  /** How long a stop waits for clients to answer the close before cutting them off (the HTTP drain waits longer). */
  drainGraceMs: 2_000,
} as const;
