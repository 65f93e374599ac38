import type { Logger } from 'pino';
import type { CheckInRow } from '../db/data.js';
import { AUTH_METHODS, type AuthMethodName } from '../shared/roles.js';
import type { PubSub } from './pubsub.js';

const CHECK_IN = 'check-in';
const CREDENTIALS = 'credentials';

const METHODS: ReadonlySet<string> = new Set(AUTH_METHODS);

/** A check-in as it travels between processes: the row, the instant as milliseconds. */
function checkInFrom(payload: Record<string, unknown>): CheckInRow | null {
  const { id, memberId, at, door, method } = payload;
  if (!Number.isSafeInteger(id) || !Number.isSafeInteger(memberId) || !Number.isFinite(at)) return null;
  if (!(door === null || typeof door === 'string') || typeof method !== 'string' || !METHODS.has(method)) return null;
  return { id: id as number, memberId: memberId as number, at: new Date(at as number), door, method: method as AuthMethodName };
}

/**
 * What happens at the gym that someone may be watching live, on the pub/sub that goes with the database:
 *
 * - a check-in, for the front desk's access sheet and the member's own phone;
 * - a member whose credentials changed (a sign-out, logout everywhere, a password change, a suspension, a new role),
 *   so that their open sockets check them again at once rather than at their next event or timer.
 *
 * Publishing never fails the action that caused it: the event is sent after the action committed, and if it cannot
 * be sent the failure is logged. A socket still checks its viewer before every event and on its timers, so a lost
 * credentials event delays a close, never lets an event through.
 */
export class LiveEvents {
  constructor(
    private readonly pubsub: PubSub,
    private readonly log: Logger,
  ) {}

  /** Tells every process of a new check-in (not of a repeat, which returns the check-in already told). */
  async checkedIn(row: CheckInRow): Promise<void> {
    await this.send(CHECK_IN, { id: row.id, memberId: row.memberId, at: row.at.getTime(), door: row.door, method: row.method });
  }

  /** Tells every process that a member's credentials, status or role changed. */
  async credentialsChanged(memberId: number): Promise<void> {
    await this.send(CREDENTIALS, { memberId });
  }

  onCheckIn(listener: (row: CheckInRow) => void): () => void {
    return this.pubsub.subscribe(CHECK_IN, (payload) => {
      const row = checkInFrom(payload);
      if (row) listener(row);
    });
  }

  onCredentialsChanged(listener: (memberId: number) => void): () => void {
    return this.pubsub.subscribe(CREDENTIALS, (payload) => {
      if (Number.isSafeInteger(payload.memberId)) listener(payload.memberId as number);
    });
  }

  /** After events may have been missed: everyone who relies on them checks again. */
  onGap(listener: () => void): () => void {
    return this.pubsub.onGap(listener);
  }

  private async send(topic: string, payload: Record<string, unknown>): Promise<void> {
    try {
      await this.pubsub.publish(topic, payload);
    } catch (err) {
      this.log.warn({ err, topic }, 'could not publish a live event');
    }
  }
}
