import type { Logger } from 'pino';
import type { GymStrategy, Viewer } from '../auth/viewer.js';
import type { Loaders } from '../db/loaders.js';
import type { Clock } from '../shared/clock.js';
import { isDatabaseUnavailable } from '../shared/errors.js';
import { authenticate, type Presented } from '../shared/strategies.js';

/**
 * The close codes of Keycard's sockets, part of the API contract. 4403 is graphql-ws's own Forbidden, on which its
 * standard client reconnects and runs its `connectionParams` again (where a client refreshes its token); the others
 * are WebSocket's own, outside the range graphql-ws reserves.
 */
export const LiveCloseCode = {
  /** The credential is missing, invalid, expired or revoked, the session ended, or the viewer lost the right. */
  Forbidden: 4403,
  /** Over a limit (connections, subscriptions, events waiting for a slow consumer): the standard client gives up. */
  PolicyViolation: 1008,
  /** The viewer could not be checked (the database is unreachable): the standard client tries again later. */
  TryAgainLater: 1013,
  /** Something Keycard did not expect; logged in full, the client is told no more. */
  InternalError: 1011,
} as const;

/** Why a socket closed with 4403, in its close reason. */
export type ForbiddenReason = 'token_expired' | 'session_ended' | 'revoked' | 'forbidden';

/** A check that did not let the socket go on: why, or that the database could not be read to decide. */
export type Refusal = ForbiddenReason | 'unavailable';

/** The close code and reason of a refusal, the same when the socket opens and at every later check. */
export function closeFor(refusal: Refusal): [code: number, reason: string] {
  return refusal === 'unavailable'
    ? [LiveCloseCode.TryAgainLater, 'the gym cannot check your credentials right now; try again']
    : [LiveCloseCode.Forbidden, refusal];
}

/** One live subscription as its connection sees it: whether a viewer may still have it, and how to end it. */
export interface Watched {
  allows(viewer: Viewer): boolean;
  /** Stops it listening at once: its operation ended, or the socket closed. */
  finish(): void;
}

/** Why a subscription may not start on this socket. */
export type NotStarted = 'closed' | 'duplicate' | 'too many';

/**
 * One subscription operation of a socket, as its resolvers see it (the context's `live`): the socket's viewer, and the
 * streams it starts, which end with the operation or the socket.
 */
export interface LiveOperation {
  readonly viewer: Viewer;
  reauthorise(): Promise<boolean>;
  close(code: number, reason: string): void;
  /** Registers a stream of this operation; null when the operation already ended (the stream must not start). */
  watch(watched: Watched): (() => void) | null;
}

export interface LiveConnectionOptions {
  /** What the socket presented when it opened, run through the strategies again at every check. */
  presented: Presented;
  /** The viewer the strategies found when it opened. */
  viewer: Viewer;
  strategies: readonly GymStrategy[];
  /** Shared by every socket and never caching: each check reads the database anew, batched with the others'. */
  loaders: Loaders;
  /** How often a session's activity is recorded: a socket with a live subscription checks at least this often. */
  touchIntervalMs: number;
  /** The clock the credentials' deadlines are read and awaited on: the one the app's tokens and sessions use. */
  clock: Pick<Clock, 'now' | 'at'>;
  /** Closes the socket (graphql-ws then ends its subscriptions). */
  close(code: number, reason: string): void;
  log: Logger;
}

/**
 * One authenticated socket: who it acts for, checked again and again with the same strategies as an HTTP request.
 *
 * The viewer is checked anew (a fresh read, never a cached answer):
 * - before every event is sent, so none is sent after the moment its viewer lost the right to it;
 * - on a timer at the instant the credential runs out: the token's `exp` (not `exp` plus the clock tolerance other
 *   readers are given), the session's idle or absolute deadline;
 * - while a subscription is live on a session, at least every touch interval: the strategy records the activity (a
 *   socket that watches counts as activity for the idle timeout; the absolute timeout always ends it);
 * - at once when the member's credentials change anywhere (see LiveEvents), and after the event listener missed events.
 *
 * A check that fails closes the socket with 4403 and the reason; one that cannot read the database closes it with
 * 1013, since nothing may be sent unchecked.
 */
export class LiveConnection {
  private current: Viewer;
  /** A token's `exp` (ms), which the socket holds to exactly; null for a session. */
  private readonly tokenExpiresAt: number | null;
  /** The socket's subscription operations by their graphql-ws id, each with the streams it started. */
  private readonly operations = new Map<string, Set<Watched>>();
  private stopTimer: () => void = () => undefined;
  private closedWith: number | undefined;

  constructor(private readonly options: LiveConnectionOptions) {
    this.current = options.viewer;
    this.tokenExpiresAt = options.viewer.method === 'TOKEN' ? options.viewer.expiresAt.getTime() : null;
    this.schedule();
  }

  /** Who the socket acts for, as of the last check. */
  get viewer(): Viewer {
    return this.current;
  }

  get memberId(): number {
    return this.current.memberId;
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** How many streams are live on this socket. */
  get watching(): number {
    let count = 0;
    for (const streams of this.operations.values()) count += streams.size;
    return count;
  }

  /**
   * Takes a place for a subscription operation before it starts: refused once the socket is closing, for an id that
   * is already live (a client may not reuse one before it ended), and past `max` operations. The place is held until
   * {@link end}, whatever the client sends meanwhile, so the limit counts what this socket really keeps.
   */
  begin(id: string, max: number): NotStarted | LiveOperation {
    if (this.closed) return 'closed';
    if (this.operations.has(id)) return 'duplicate';
    if (this.operations.size >= max) return 'too many';
    const streams = new Set<Watched>();
    this.operations.set(id, streams);
    const connection = this;
    return {
      get viewer() {
        return connection.viewer;
      },
      reauthorise: () => this.reauthorise(),
      close: (code, reason) => this.close(code, reason),
      watch: (watched) => {
        if (this.closed || this.operations.get(id) !== streams) return null;
        streams.add(watched);
        if (this.watching === 1) this.schedule();
        return () => {
          if (streams.delete(watched) && this.watching === 0) this.schedule();
        };
      },
    };
  }

  /** The operation ended (completed by either side, refused, or failed): its streams stop and its place is freed. */
  end(id: string): void {
    const streams = this.operations.get(id);
    if (!streams) return;
    this.operations.delete(id);
    for (const watched of [...streams]) watched.finish();
  }

  /**
   * Checks the viewer anew. True while the socket may go on; false once it is closed (by this check or before).
   * Concurrent checks are independent reads: each decides on a state of the database read after it was asked for.
   */
  async reauthorise(): Promise<boolean> {
    if (this.closed) return false;
    const verdict = await this.check();
    if (this.closed) return false;
    if (typeof verdict === 'string') {
      this.close(...closeFor(verdict));
      return false;
    }
    this.current = verdict;
    for (const watched of [...this.operations.values()].flatMap((streams) => [...streams])) {
      // A role taken away (strict tokens and sessions read it anew): a subscription it no longer allows ends the socket.
      if (!watched.allows(verdict)) {
        this.close(LiveCloseCode.Forbidden, 'forbidden');
        return false;
      }
    }
    this.schedule();
    return true;
  }

  /** Closes the socket, once; every later check says false. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closedWith = code;
    this.stopTimer();
    this.options.close(code, reason);
  }

  /** The socket closed (by either side): every stream stops, whatever graphql-ws still holds, and nothing is scheduled. */
  dispose(): void {
    this.closedWith ??= 0;
    this.stopTimer();
    for (const id of [...this.operations.keys()]) this.end(id);
  }

  private async check(): Promise<Viewer | Refusal> {
    if (this.tokenExpiresAt !== null && this.options.clock.now() >= this.tokenExpiresAt) return 'token_expired';
    let result;
    try {
      // A socket that watches counts as the member's activity; its checks with nothing to watch do not, or its own
      // timer at the idle deadline would keep the session alive for ever.
      result = await authenticate(this.options.presented, this.options.strategies, { loaders: this.options.loaders, recordActivity: this.watching > 0 });
    } catch (err) {
      if (isDatabaseUnavailable(err)) return 'unavailable';
      this.options.log.error({ err }, 'could not check the viewer of a socket');
      this.close(LiveCloseCode.InternalError, 'internal error');
      return 'forbidden';
    }
    if (result.viewer) return result.viewer.memberId === this.current.memberId ? result.viewer : 'forbidden';
    // A token that verified when the socket opened and no longer does, before its `exp`: strict mode saw it revoked.
    if (result.failure) return result.failure.reason === 'token_expired' ? 'token_expired' : 'revoked';
    return 'session_ended';
  }

  /** The next timed check: when the credential runs out, or sooner to record a watching session's activity. */
  private schedule(): void {
    if (this.closed) return;
    this.stopTimer();
    let at = this.tokenExpiresAt ?? this.current.expiresAt.getTime();
    if (this.tokenExpiresAt === null && this.watching > 0) at = Math.min(at, this.options.clock.now() + this.options.touchIntervalMs);
    this.stopTimer = this.options.clock.at(at, () => this.reauthorise());
  }
}
