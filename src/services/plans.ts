import type { Context } from '../context.js';
import type { PlanRow } from '../db/schema.js';

/** The plans the gym sells, cheapest first: public, and the same for everyone. */
export function listPlans(ctx: Pick<Context, 'services'>): PlanRow[] {
  return ctx.services.queries.allPlans.all();
}
