import type { Viewer } from '../auth/viewer.js';
import type { LiveFeed } from '../context.js';
import { LiveCloseCode, type LiveOperation } from './connection.js';

export interface LiveStreamOptions<T> {
  /** Starts listening, handing each event to `push`; returns what stops it. */
  listen(push: (event: T) => void): () => void;
  /** Whether a viewer may still have this subscription (the guard of its field, asked again). */
  allows(viewer: Viewer): boolean;
  /** The most events that may wait for a slow consumer; one more closes the socket. */
  maxQueued: number;
}

/**
 * A subscription's events, as the async iterator graphql-js executes one by one. Each event is held back until the
 * socket's viewer has been checked anew (a fresh read): an event is sent only to a viewer who had the right to it
 * after it happened.
 *
 * Events wait in a queue while the consumer is busy (its socket sends each event before asking for the next, so a
 * slow reader makes them wait). The queue is bounded: past `maxQueued` the consumer is dropped, its socket closed with
 * 1008, rather than the process holding ever more for it.
 */
export class LiveStream<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private wake: (() => void) | undefined;
  private finished = false;
  private readonly stopListening: () => void;
  private readonly unwatch: () => void;

  constructor(
    private readonly connection: LiveOperation,
    private readonly options: LiveStreamOptions<T>,
  ) {
    const unwatch = connection.watch({ allows: options.allows, finish: () => this.finish() });
    if (!unwatch) {
      // Its operation ended before it started (completed by the client, or the socket closed): it never listens.
      this.finished = true;
      this.unwatch = this.stopListening = () => {};
      return;
    }
    this.unwatch = unwatch;
    this.stopListening = options.listen((event) => this.push(event));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    while (!this.finished) {
      const event = this.queue.shift();
      if (event === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      if (!(await this.connection.reauthorise()) || this.finished) break;
      return { value: event, done: false };
    }
    this.finish();
    return { value: undefined, done: true };
  }

  /** The subscription ended (the client completed it, the socket closed): stop listening at once. */
  async return(): Promise<IteratorResult<T, undefined>> {
    this.finish();
    return { value: undefined, done: true };
  }

  async throw(err: unknown): Promise<IteratorResult<T, undefined>> {
    this.finish();
    throw err;
  }

  private push(event: T): void {
    if (this.finished) return;
    if (this.queue.length >= this.options.maxQueued) {
      this.finish();
      this.connection.close(LiveCloseCode.PolicyViolation, 'too many events waiting: the connection reads too slowly');
      return;
    }
    this.queue.push(event);
    this.wake?.();
    this.wake = undefined;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.queue.length = 0;
    this.stopListening();
    this.unwatch();
    this.wake?.();
    this.wake = undefined;
  }
}

/** What a subscription's resolver is given of its socket operation: its streams wait for at most `maxQueued` events each. */
export function liveFeed(operation: LiveOperation, maxQueued: number): LiveFeed {
  return {
    get viewer() {
      return operation.viewer;
    },
    stream: (listen, allows) => new LiveStream(operation, { listen, allows, maxQueued }),
  };
}
