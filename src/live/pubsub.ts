/**
 * How the processes serving the gym tell each other what happened: a check-in, a member whose credentials changed.
 * One interface, chosen with the database: in-process on SQLite (one process serves a SQLite gym), PostgreSQL's
 * LISTEN/NOTIFY on PostgreSQL (every worker and every machine on the database hears every event).
 */
export interface PubSub {
  /**
   * Sends `payload` to every subscriber of `topic`, in this process and, on PostgreSQL, in every other. Resolves once
   * it is sent; rejects when it could not be (the database is unreachable): an event is a hint that something happened,
   * never the only record of it, so a caller logs that and goes on.
   */
  publish(topic: string, payload: Record<string, unknown>): Promise<void>;
  /** Calls `listener` with every event on `topic` from now on; returns what stops it. */
  subscribe(topic: string, listener: (payload: Record<string, unknown>) => void): () => void;
  /**
   * Calls `listener` after a time in which events may have been missed (the PostgreSQL listener lost its connection
   * and has it back): whoever relies on hearing of a change checks again for itself.
   */
  onGap(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Subscribers by topic, called in order; one listener that throws never keeps the event from the others. */
export class Topics {
  private readonly listeners = new Map<string, Set<(payload: Record<string, unknown>) => void>>();
  private readonly gapListeners = new Set<() => void>();

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  subscribe(topic: string, listener: (payload: Record<string, unknown>) => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    // Each subscription is its own entry, so subscribing one function twice and stopping one keeps the other.
    const entry = (payload: Record<string, unknown>) => listener(payload);
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.listeners.get(topic) === set) this.listeners.delete(topic);
    };
  }

  onGap(listener: () => void): () => void {
    const entry = () => listener();
    this.gapListeners.add(entry);
    return () => this.gapListeners.delete(entry);
  }

  dispatch(topic: string, payload: Record<string, unknown>): void {
    const set = this.listeners.get(topic);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  gap(): void {
    for (const listener of [...this.gapListeners]) {
      try {
        listener();
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}

/** The pub/sub of a single process (SQLite): an event reaches this process's subscribers, in order, at once. */
export class InProcessPubSub implements PubSub {
  private readonly topics: Topics;
  private closed = false;

  constructor(onListenerError: (err: unknown) => void) {
    this.topics = new Topics(onListenerError);
  }

  async publish(topic: string, payload: Record<string, unknown>): Promise<void> {
    if (this.closed) return;
    this.topics.dispatch(topic, payload);
  }

  subscribe(topic: string, listener: (payload: Record<string, unknown>) => void): () => void {
    return this.topics.subscribe(topic, listener);
  }

  onGap(listener: () => void): () => void {
    return this.topics.onGap(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
