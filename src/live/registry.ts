import type { WebSocket } from 'ws';
import { LiveCloseCode, type LiveConnection } from './connection.js';
import type { LiveLimits } from './limits.js';

/**
 * The sockets this process holds, counted per client address (from the moment one opens) and per member (once signed
 * in), against the configured limits; and who to check again when a member's credentials change.
 */
export class SocketRegistry {
  private readonly perAddress = new Map<string, number>();
  private readonly perMember = new Map<number, Set<LiveConnection>>();

  constructor(private readonly limits: LiveLimits) {}

  /**
   * Counts a new socket from `address` until it closes, before anything else runs for it: what the socket keeps, or
   * null when it is one too many from that address (it is closed with 1008).
   */
  accept(socket: WebSocket, address: string): { address: string } | null {
    const open = (this.perAddress.get(address) ?? 0) + 1;
    this.perAddress.set(address, open);
    socket.once('close', () => {
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    });
    if (open <= this.limits.maxConnectionsPerAddress) return { address };
    socket.close(LiveCloseCode.PolicyViolation, 'too many connections from this address');
    return null;
  }

  /** Whether a member may open one more socket. */
  hasRoomFor(memberId: number): boolean {
    return (this.perMember.get(memberId)?.size ?? 0) < this.limits.maxConnectionsPerMember;
  }

  /** Counts a signed-in socket against its member's limit, until {@link forget}. */
  add(connection: LiveConnection): void {
    const mine = this.perMember.get(connection.memberId) ?? new Set<LiveConnection>();
    mine.add(connection);
    this.perMember.set(connection.memberId, mine);
  }

  /** The socket closed: it no longer counts, nor is checked when its member's credentials change. */
  forget(connection: LiveConnection): void {
    const set = this.perMember.get(connection.memberId);
    if (set?.delete(connection) && set.size === 0) this.perMember.delete(connection.memberId);
  }

  /** Checks the viewer of each socket of a member anew, or of every socket when `memberId` is undefined. */
  recheck(memberId?: number): void {
    const connections = memberId === undefined ? [...this.perMember.values()].flatMap((set) => [...set]) : [...(this.perMember.get(memberId) ?? [])];
    for (const connection of connections) void connection.reauthorise();
  }
}
