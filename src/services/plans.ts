import type { Context } from '../context.js';
import type { PlanRow } from '../db/data.js';
import type { Step } from '../shared/steps.js';

/** The plans the gym sells, cheapest first: public, and the same for everyone. */
export function listPlans(ctx: Pick<Context, 'services'>): Step<PlanRow[]> {
  return ctx.services.data.allPlans();
}
