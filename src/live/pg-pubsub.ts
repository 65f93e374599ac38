import pgListen from 'pg-listen';
import type pg from 'pg';
import { Topics, type PubSub } from './pubsub.js';

/** The one PostgreSQL channel Keycard's events travel on; the topic is in the payload. */
const CHANNEL = 'keycard_events';
/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. Keycard's events are a few dozen. */
const MAX_PAYLOAD_BYTES = 7_900;
/** Between attempts to get the listening connection back: quick at first, then every 10 s for as long as it takes. */
const retryInterval = (attempt: number) => Math.min(500 * 2 ** attempt, 10_000);

/** What travels on the channel. */
interface Envelope {
  topic: string;
  payload: Record<string, unknown>;
}

function parseEnvelope(text: string): Envelope | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { topic, payload } = value as Record<string, unknown>;
    if (typeof topic !== 'string' || typeof payload !== 'object' || payload === null) return undefined;
    return { topic, payload: payload as Record<string, unknown> };
  } catch {
    // Not ours (anyone with access to the database may NOTIFY on the channel): ignored, never a crash.
    return undefined;
  }
}

/**
 * Events across every process on one PostgreSQL database: `NOTIFY` to publish, one `LISTEN`ing connection per process
 * to hear them (the process's own included, so there is one path for every event). PostgreSQL delivers a notification
 * to every session listening when it is sent, in the order they were sent.
 *
 * The listening connection is pg-listen's: it notices a dead connection (a query every 30 s besides TCP keepalive),
 * and reconnects and listens again for as long as it takes. What was sent while it was away is lost, so the gap is
 * reported ({@link PubSub.onGap}) and whoever depends on hearing of changes checks again for itself.
 */
export class PostgresPubSub implements PubSub {
  private readonly topics: Topics;
  private readonly subscriber;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    connectionString: string,
    log: { warn: (obj: object, msg: string) => void },
  ) {
    this.topics = new Topics((err) => log.warn({ err }, 'a listener of a database event failed'));
    this.subscriber = pgListen.default(
      { connectionString, keepAlive: true },
      { parse: (text: string) => parseEnvelope(text) ?? null, retryInterval, retryTimeout: 0, paranoidChecking: 30_000 },
    );
    this.subscriber.notifications.on(CHANNEL, (envelope: Envelope | null) => {
      if (envelope) this.topics.dispatch(envelope.topic, envelope.payload);
    });
    this.subscriber.events.on('error', (err: Error) => log.warn({ err }, 'the database event listener failed'));
    this.subscriber.events.on('reconnect', (attempt: number) => {
      if (attempt === 1) log.warn({}, 'the database event listener lost its connection; reconnecting');
    });
    // Emitted once the connection is back and listening again.
    this.subscriber.events.on('connected', () => {
      log.warn({}, 'the database event listener is back; events sent meanwhile were missed');
      this.topics.gap();
    });
  }

  /** Connects the listening connection and listens; publishing goes through `pool`. */
  static async open(pool: pg.Pool, connectionString: string, log: { warn: (obj: object, msg: string) => void }): Promise<PostgresPubSub> {
    const pubsub = new PostgresPubSub(pool, connectionString, log);
    try {
      await pubsub.subscriber.connect();
      await pubsub.subscriber.listenTo(CHANNEL);
    } catch (err) {
      await pubsub.close();
      throw err;
    }
    return pubsub;
  }

  async publish(topic: string, payload: Record<string, unknown>): Promise<void> {
    if (this.closed) return;
    const text = JSON.stringify({ topic, payload } satisfies Envelope);
    if (Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) throw new Error(`an event on ${topic} is too large for NOTIFY`);
    // Through the pool, not the listening connection: a publish never waits behind the listener, nor the reverse.
    await this.pool.query('select pg_notify($1, $2)', [CHANNEL, text]);
  }

  subscribe(topic: string, listener: (payload: Record<string, unknown>) => void): () => void {
    return this.topics.subscribe(topic, listener);
  }

  onGap(listener: () => void): () => void {
    return this.topics.onGap(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.subscriber.close().catch(() => undefined);
  }
}
