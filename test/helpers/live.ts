import { createClient, type Client as WsClient, type ClientOptions } from 'graphql-ws';
import WebSocket from 'ws';

/** How a socket closed, as the client saw it, and when. */
export interface Closed {
  code: number;
  reason: string;
  at: number;
}

export interface SocketOptions {
  /** Sent as `connectionParams.authorization` (e.g. `Bearer <token>`). */
  authorization?: string;
  /** Or connectionParams of any shape, or graphql-ws's function (run again on every reconnect). */
  connectionParams?: ClientOptions['connectionParams'];
  /** Headers of the upgrade request, as a browser would send them. */
  cookie?: string;
  origin?: string;
  /** graphql-ws's retries; 0 (the default here) reports the first close instead of reconnecting. */
  retryAttempts?: number;
  /** Quick retries by default, so a test of reconnecting takes milliseconds, not graphql-ws's seconds. */
  retryWait?: ClientOptions['retryWait'];
  /** Connect at once instead of on the first subscription. */
  eager?: boolean;
}

/** A real graphql-ws client over a real `ws` socket to a gym, with what happened to it recorded. */
export interface GymSocket {
  client: WsClient;
  /** Every close the client saw, in order. */
  closes: Closed[];
  /** How many times it connected (the first time and each reconnect). */
  connections(): number;
  /** The next close after the ones already seen (or the last one, when `last`). */
  closed(timeoutMs?: number): Promise<Closed>;
  /** Subscribes and records what comes. */
  watch<T = any>(query: string, variables?: Record<string, unknown>): Feed<T>;
  dispose(): Promise<void>;
}

/** Resolves when `check` holds, polling; rejects with `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The `ws` client class with the upgrade headers a browser would send (graphql-ws takes a class, not options). */
function socketClass(options: SocketOptions): unknown {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = options.cookie;
  return class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers, ...(options.origin ? { origin: options.origin } : {}) });
    }
  };
}

export function openSocket(app: { url: string }, options: SocketOptions = {}): GymSocket {
  const closes: Closed[] = [];
  let connected = 0;
  let seen = 0;
  const connectionParams = options.connectionParams ?? (options.authorization ? { authorization: options.authorization } : undefined);
  const client = createClient({
    url: `${app.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: socketClass(options),
    ...(connectionParams ? { connectionParams } : {}),
    lazy: !options.eager,
    retryAttempts: options.retryAttempts ?? 0,
    retryWait: options.retryWait ?? (() => new Promise((resolve) => setTimeout(resolve, 50))),
    ...(options.eager ? { onNonLazyError: () => undefined } : {}),
    on: {
      connected: () => void connected++,
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        closes.push({ code, reason: String(reason), at: Date.now() });
      },
    },
  });
  return {
    client,
    closes,
    connections: () => connected,
    async closed(timeoutMs = 3_000) {
      const index = seen;
      await until(() => closes.length > index, 'the socket to close', timeoutMs);
      seen = index + 1;
      return closes[index]!;
    },
    watch: (query, variables) => new Feed(client, query, variables),
    dispose: () => client.dispose() as Promise<void>,
  };
}

/** One subscription's values, its error and its end, as they came. */
export class Feed<T = any> {
  readonly values: T[] = [];
  readonly arrivals: number[] = [];
  error: unknown;
  completed = false;
  private taken = 0;
  readonly stop: () => void;

  constructor(client: WsClient, query: string, variables?: Record<string, unknown>) {
    this.stop = client.subscribe<T>(
      { query, ...(variables ? { variables } : {}) },
      {
        next: (value) => {
          this.values.push(value as T);
          this.arrivals.push(Date.now());
        },
        error: (err) => {
          this.error = err;
        },
        complete: () => {
          this.completed = true;
        },
      },
    );
  }

  /** The next value not yet taken. */
  async next(timeoutMs = 3_000): Promise<T> {
    const index = this.taken;
    await until(() => this.values.length > index, 'the next event', timeoutMs);
    this.taken = index + 1;
    return this.values[index]!;
  }

  /** The error the subscription ended with (graphql-ws's `error` message, or the close when it gave up). */
  async failed(timeoutMs = 3_000): Promise<unknown> {
    await until(() => this.error !== undefined, 'the subscription to fail', timeoutMs);
    return this.error;
  }
}

/**
 * Waits until the server has started `count` subscriptions in all (it logs each once it listens for its events), so a
 * test makes the event it waits for only after the subscription can hear it.
 */
export async function started(app: { logs: Record<string, unknown>[] }, count: number, timeoutMs = 3_000): Promise<void> {
  await until(() => app.logs.filter((line) => line.event === 'subscription_start').length >= count, `${count} subscriptions to start`, timeoutMs);
}

/** A graphql-ws socket spoken to by hand (no client library), to send what a well-behaved client never would. */
export interface RawSocket {
  ws: WebSocket;
  /** Every message the server sent, parsed. */
  messages: { type: string; id?: string; payload?: unknown }[];
  /** How it closed, once it has. */
  closed: Promise<{ code: number; reason: string }>;
  /** Sends these messages in one write, so the server reads them in one go. */
  burst(messages: object[]): void;
}

/** Opens a socket by hand and signs it in with `connectionParams`, resolving once the server acknowledged it. */
export async function rawSocket(app: { url: string }, connectionParams: Record<string, unknown>): Promise<RawSocket> {
  const ws = new WebSocket(`${app.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: RawSocket['messages'] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as RawSocket['messages'][number]));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'connection_init', payload: connectionParams }));
  await until(() => messages.some((m) => m.type === 'connection_ack'), 'connection_ack');
  return {
    ws,
    messages,
    closed,
    burst(list) {
      const tcp = (ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
      tcp.cork();
      for (const message of list) ws.send(JSON.stringify(message));
      tcp.uncork();
    },
  };
}
