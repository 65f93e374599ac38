import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions, type WebSocket as GraphQLWsSocket } from 'graphql-ws';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { ReasonBoundSocket, SUBSCRIBER_EXISTS } from './close-reason.js';

/** What every socket's graphql-ws state carries: the socket and its upgrade request, and what `accept` added. */
export type SocketExtra<E> = E & { socket: WebSocket; request: IncomingMessage };

export interface WsGlueOptions<E> {
  log: Logger;
  /** graphql-ws pings each socket this often, and drops one that has not answered by the next ping. */
  keepAliveMs: number;
  /**
   * The most a socket may have waiting to be sent. Events wait their turn (each is sent once the previous one was
   * written), but answers to a client's own messages (pongs that echo its pings, errors) do not: a client that sends
   * and never reads is cut off here instead of growing the process's memory.
   */
  maxBufferedBytes: number;
  /** Runs first for each new socket: what Keycard keeps for it, or null when it closed the socket (a limit). */
  accept(socket: WebSocket, request: IncomingMessage): E | null;
  /** The close code for a message whose handling failed unexpectedly (the error is logged). */
  internalErrorCode: number;
}

export interface WsGlue {
  /** Closes every socket with 1001 and stops taking new ones; a socket still open after `graceMs` is cut off. */
  drain(graceMs: number): Promise<void>;
}

/**
 * graphql-ws's protocol (its `makeServer`) on a `ws` server: the thin glue graphql-ws's own `useServer` is, with what a
 * production server needs besides. Failures go to Keycard's log, once, never to the console; a send to a socket that
 * is gone resolves (its close is handled where it closes), so a client that resets never produces a stream of errors;
 * a socket that lets too much pile up unread is cut off; draining does not wait on a client that ignores the close; and
 * no close reason is ever too long to send, nor repeats what the client sent.
 */
export function serveGraphQLWs<E extends Record<string, unknown>>(
  wss: WebSocketServer,
  options: ServerOptions<Record<string, unknown>, SocketExtra<E>>,
  glue: WsGlueOptions<E>,
): WsGlue {
  const server = makeServer(options);
  const { log } = glue;
  wss.options.handleProtocols = handleProtocols;
  // Every socket is of this class: every close, whoever asks for it, has its reason bounded in one place.
  wss.options.WebSocket = ReasonBoundSocket;
  wss.on('error', (err) => log.error({ err }, 'the WebSocket server failed'));

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    socket.on('error', (err) => {
      // A protocol violation (a bad frame, a message over the size limit): ws closes the socket itself.
      log.warn({ err }, 'a socket was closed for a protocol error');
    });
    const accepted = glue.accept(socket, request);
    if (accepted === null) return;
    const stopKeepAlive = keepAlive(socket, glue.keepAliveMs);
    const closed = server.opened(protocolSocket(socket, glue), { ...accepted, socket, request });
    socket.once('close', (code: number, reason: Buffer) => {
      stopKeepAlive();
      closed(code, String(reason)).catch((err: unknown) => log.error({ err }, 'a closed socket could not be cleaned up'));
    });
  });

  return {
    async drain(graceMs) {
      const open = [...wss.clients];
      for (const socket of open) socket.close(1001, 'Going away');
      const deadline = Date.now() + graceMs;
      while (open.some((s) => s.readyState !== s.CLOSED) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const socket of open) if (socket.readyState !== socket.CLOSED) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Pings the socket every `intervalMs`, and drops it when a ping is not answered by the next one; returns the stop. */
function keepAlive(socket: WebSocket, intervalMs: number): () => void {
  let pongWait: NodeJS.Timeout | undefined;
  const timer = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    pongWait ??= setTimeout(() => socket.terminate(), intervalMs);
    socket.ping();
  }, intervalMs);
  socket.on('pong', () => {
    clearTimeout(pongWait);
    pongWait = undefined;
  });
  return () => {
    clearInterval(timer);
    clearTimeout(pongWait);
  };
}

/** The socket as graphql-ws's `makeServer` drives it: sends that resolve once written, bounded closes, guarded messages. */
function protocolSocket<E>(socket: WebSocket, glue: WsGlueOptions<E>): GraphQLWsSocket {
  const { log } = glue;
  return {
    protocol: socket.protocol,
    send: (data) =>
      new Promise<void>((resolve) => {
        if (socket.readyState !== socket.OPEN) return resolve();
        socket.send(data, () => resolve());
      }),
    // graphql-ws's reasons are fixed words, but for 4409's, which repeats the client's id.
    close: (code, reason) => socket.close(code, code === CloseCode.SubscriberAlreadyExists ? SUBSCRIBER_EXISTS : reason),
    onMessage: (handle) =>
      socket.on('message', async (data: Buffer) => {
        if (socket.bufferedAmount > glue.maxBufferedBytes) {
          log.warn({ bufferedBytes: socket.bufferedAmount }, 'a socket was cut off: it sends but does not read');
          socket.terminate();
          return;
        }
        try {
          await handle(String(data));
        } catch (err) {
          log.error({ err }, 'a socket message could not be handled');
          socket.close(glue.internalErrorCode, 'internal error');
        }
      }),
  };
}
