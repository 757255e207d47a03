import type { Session, UserState } from './types.ts';

/**
 * The fold's mutable working copy of users and sessions. The public model (types.ts) is readonly
 * plain data for the checkpoint store; inside one fold, sessions are updated in place so the hot path
 * (an event extending a user's latest session) allocates nothing. Input objects are never mutated:
 * loadUser copies, exportUser builds fresh plain objects.
 */

/** Shared empty list: with allowed lateness 0 no session ever records an emitted start. */
export const NO_STARTS: readonly number[] = Object.freeze([]);

export class WorkSession {
  /**
   * Key of this session's one valid entry in the timer heap, NaN when it has none. Heap entries
   * with another key are stale (lazy invalidation, see operator.ts).
   */
  heapKey = Number.NaN;
  /** False once merged into another session or dropped; its heap entries are then stale. */
  alive = true;

  constructor(
    readonly user: WorkUser,
    public start: number,
    public end: number,
    public count: number,
    public pending: boolean,
    /** Treated as an immutable value: replaced, never modified in place, so input arrays can be shared. */
    public emittedStarts: readonly number[],
  ) {}
}

export class WorkUser {
  /** Sorted by start; any two are disjoint and not touching (they would have merged, rule 2). */
  readonly sessions: WorkSession[] = [];
  /** Set when sessions change, so the result lists only users whose state must be written. */
  changed = false;

  /** UserState.lastOffset, with minus infinity for null so the hot-path check is one comparison. */
  constructor(
    readonly userId: string,
    public lastOffset: number = Number.NEGATIVE_INFINITY,
  ) {}
}

export function loadUser(state: UserState): WorkUser {
  // `??` also covers a state persisted before lastOffset existed (undefined).
  const user = new WorkUser(state.userId, state.lastOffset ?? Number.NEGATIVE_INFINITY);
  for (const s of state.sessions) {
    user.sessions.push(new WorkSession(user, s.start, s.end, s.count, s.pending, s.emittedStarts));
  }
  return user;
}

export function exportUser(user: WorkUser): UserState {
  return {
    userId: user.userId,
    sessions: user.sessions.map(
      (s): Session => ({
        start: s.start,
        end: s.end,
        count: s.count,
        pending: s.pending,
        emittedStarts: s.emittedStarts,
      }),
    ),
    lastOffset: user.lastOffset === Number.NEGATIVE_INFINITY ? null : user.lastOffset,
  };
}

/** Sorted union of two sorted start lists (a bridge of emitted sessions, rule 7). */
export function unionStarts(a: readonly number[], b: readonly number[]): readonly number[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}
