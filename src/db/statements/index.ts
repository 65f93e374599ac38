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
 * engine's store extends it; an atomic step gets one on its transaction, and builds only the groups it uses (a step
 * touches one to three of the nine).
 */
export class GymStatements implements GymQueries {
  #members?: GymQueries['members'];
  #plans?: GymQueries['plans'];
  #memberships?: GymQueries['memberships'];
  #checkIns?: GymQueries['checkIns'];
  #sessions?: GymQueries['sessions'];
  #refresh?: GymQueries['refresh'];
  #throttle?: GymQueries['throttle'];
  #oidc?: GymQueries['oidc'];
  #secrets?: GymQueries['secrets'];

  readonly #on: On;

  constructor(on: On) {
    this.#on = on;
  }

  get members() {
    return (this.#members ??= memberStatements(this.#on));
  }
  get plans() {
    return (this.#plans ??= planStatements(this.#on));
  }
  get memberships() {
    return (this.#memberships ??= membershipStatements(this.#on));
  }
  get checkIns() {
    return (this.#checkIns ??= checkInStatements(this.#on));
  }
  get sessions() {
    return (this.#sessions ??= sessionStatements(this.#on));
  }
  get refresh() {
    return (this.#refresh ??= refreshStatements(this.#on));
  }
  get throttle() {
    return (this.#throttle ??= throttleStatements(this.#on));
  }
  get oidc() {
    return (this.#oidc ??= oidcStatements(this.#on));
  }
  get secrets() {
    return (this.#secrets ??= secretStatements(this.#on));
  }
}
