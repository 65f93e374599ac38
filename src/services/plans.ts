import type { PlanRow } from '../db/data.js';
import type { Step } from '../shared/steps.js';
import type { Services } from './services.js';

/** The plans the gym sells, cheapest first: public, and the same for everyone. */
export function listPlans(services: Pick<Services, 'data'>): Step<PlanRow[]> {
  return services.data.allPlans();
}
