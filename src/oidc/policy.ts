import type { IncomingMessage } from 'node:http';
import { interactionPolicy } from 'oidc-provider';

/** Who the access sheet says a browser is, and since when (the `auth_time` of what the provider issues). */
export interface AccessSheetEntry {
  memberId: number;
  /** When the member last gave their password for this session, in epoch seconds. */
  authTime: number;
}

/** The member on the access sheet for a browser (its `keycard.sid`), or null. */
export type AccessSheet = (req: IncomingMessage) => Promise<AccessSheetEntry | null>;

/**
 * oidc-provider's own policy, with one more reason to ask for a sign-in: the provider's session alone never signs a
 * member in. It counts only while this browser is on the gym's access sheet for the same member, so signing out at the
 * gym (logout, the idle or absolute timeout, logoutEverywhere) signs out of "Sign in with the gym" too, and a browser
 * now signed in at the gym as someone else is asked who it is.
 */
export function accessSheetPolicy(accessSheet: AccessSheet) {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('access_sheet', 'The member is no longer signed in at the gym', 'login_required', async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      // On the sheet, but no account to the provider (suspended, or no active membership): the sign-in page says why.
      if (!ctx.oidc.account) return interactionPolicy.Check.REQUEST_PROMPT;
      const memberId = (await accessSheet(ctx.req))?.memberId ?? null;
      return memberId !== null && String(memberId) === accountId ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}
