import type { UserState } from './types.ts';

/**
 * The sort key of the due-session index (DESIGN.md section 5): the watermark at which this user's
 * next pending session fires, min(end - 1) (EventTimeTrigger's timer at window.maxTimestamp()).
 * Null when nothing is pending: the user need not be loaded for any watermark advance.
 *
 * Fired sessions kept for allowed lateness are not indexed. Dropping them needs no sink write, and
 * a user's fold drops them anyway (catch-up) before applying the user's next event, so leaving them
 * until then changes no row.
 */
export function nextDue(user: UserState): number | null {
  let due = Number.POSITIVE_INFINITY;
  for (const session of user.sessions) {
    if (session.pending && session.end - 1 < due) due = session.end - 1;
  }
  return due === Number.POSITIVE_INFINITY ? null : due;
}
