import type { GymQueries } from '../data.js';
import { checkInStatements } from './check-ins.js';
import { memberStatements, membershipStatements, planStatements } from './members.js';
import { oidcStatements, secretStatements } from './oidc.js';
import type { On } from './on.js';
import { refreshStatements } from './refresh.js';
import { sessionStatements } from './sessions.js';
import { throttleStatements } from './throttle.js';

export { hotStatements, type On } from './on.js';

/**
 * Every statement of the gym, grouped, on one database (or one transaction): written once, for either engine. Each
 * engine's store extends it; an atomic step gets one on its transaction.
 */
export class GymStatements implements GymQueries {
  readonly members: GymQueries['members'];
  readonly plans: GymQueries['plans'];
  readonly memberships: GymQueries['memberships'];
  readonly checkIns: GymQueries['checkIns'];
  readonly sessions: GymQueries['sessions'];
  readonly refresh: GymQueries['refresh'];
  readonly throttle: GymQueries['throttle'];
  readonly oidc: GymQueries['oidc'];
  readonly secrets: GymQueries['secrets'];

  constructor(on: On) {
    this.members = memberStatements(on);
    this.plans = planStatements(on);
    this.memberships = membershipStatements(on);
    this.checkIns = checkInStatements(on);
    this.sessions = sessionStatements(on);
    this.refresh = refreshStatements(on);
    this.throttle = throttleStatements(on);
    this.oidc = oidcStatements(on);
    this.secrets = secretStatements(on);
  }
}
