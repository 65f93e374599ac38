import type { GymQueries } from '../data.js';
import { checkInStatements } from './check-ins.js';
import { memberStatements, membershipStatements, planStatements } from './members.js';
import { oidcStatements, secretStatements } from './oidc.js';
import type { On } from './on.js';
import { refreshStatements } from './refresh.js';
import { sessionStatements } from './sessions.js';
import { throttleStatements } from './throttle.js';

export { hotStatements, type On } from './on.js';

/** Every statement of the gym, grouped, on one database (or one transaction): written once, for either engine. */
export function gymStatements(on: On): GymQueries {
  return {
    members: memberStatements(on),
    plans: planStatements(on),
    memberships: membershipStatements(on),
    checkIns: checkInStatements(on),
    sessions: sessionStatements(on),
    refresh: refreshStatements(on),
    throttle: throttleStatements(on),
    oidc: oidcStatements(on),
    secrets: secretStatements(on),
  };
}
