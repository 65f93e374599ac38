import type { PlanRow } from '../db/data.js';
import type { Services } from './services.js';

/** The plans the gym sells, cheapest first: public, and the same for everyone. */
export function listPlans(services: Pick<Services, 'data'>): Promise<PlanRow[]> {
  return services.data.plans.all();
}
