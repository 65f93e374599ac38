import type { Context } from '../context.js';
import type { PlanRow } from '../db/data.js';

/** The plans the gym sells, cheapest first: public, and the same for everyone. */
export function listPlans(ctx: Pick<Context, 'services'>): Promise<PlanRow[]> {
  return ctx.services.data.plans.all();
}
