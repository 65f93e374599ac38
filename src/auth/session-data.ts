import type {} from 'express-session';

/*
 * What the access sheet keeps in a session, declared once for express-session: the sessions (which write it) and their
 * store (which checks it) both read these fields, and neither has to import the other for them.
 */
declare module 'express-session' {
  interface SessionData {
    /** The signed-in member; absent on a session that never signed in. */
    memberId: number;
    /** When this session signed in (ms): the absolute timeout counts from here and is never extended. */
    loginAt: number;
    /** The last activity recorded (ms): the idle timeout counts from here. Recorded at most every touch interval. */
    seenAt: number;
    /**
     * The member's credential version when this session signed in. A password change, logout everywhere or a
     * suspension bumps it, and a session of an older version is over: one that a login overlapping the change
     * started is refused at its first read.
     */
    ver: number;
  }
}
