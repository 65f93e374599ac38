import { WebSocket } from 'ws';

/** The longest close reason WebSocket allows, in UTF-8 bytes (RFC 6455 5.5: 125 bytes of a close frame, 2 for the code). */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * graphql-ws's 4409, said without the id it was for: a close reason never repeats what the client sent (an id of 64
 * multibyte characters alone is past the limit).
 */
export const SUBSCRIBER_EXISTS = 'Subscriber already exists';

const encoder = new TextEncoder();
const room = new Uint8Array(MAX_CLOSE_REASON_BYTES);

/** `reason` cut to at most {@link MAX_CLOSE_REASON_BYTES} bytes, between two characters (never inside one). */
export function boundCloseReason(reason: string): string {
  // encodeInto writes whole characters only, and says how much of the string they were.
  const { read } = encoder.encodeInto(reason, room);
  return reason.slice(0, read);
}

/**
 * The class of every socket the gym's WebSocket server makes (see serveGraphQLWs): whoever closes one (Keycard,
 * graphql-ws, `ws` answering a client's close), the reason goes through {@link boundCloseReason}. Past the limit `ws`
 * throws instead of closing, and a refusal would end as 1011 "internal error", logged as a fault of the server.
 */
export class ReasonBoundSocket extends WebSocket {
  override close(code?: number, reason?: string | Buffer): void {
    super.close(code, reason === undefined ? undefined : boundCloseReason(String(reason)));
  }
}
