import type { Session, UserState } from './types.ts';

/**
 * The fold's mutable working copy of users and sessions. The public model (types.ts) is readonly
 * plain data for the checkpoint store; inside one fold, sessions are updated in place so the hot path
 * (an event extending a user's latest session) allocates nothing. Input objects are never mutated:
 * loadUser copies, exportUser builds fresh plain objects.
 */

/** Shared empty list: with allowed lateness 0 no session ever records an emitted start. */
export const NO_STARTS: readonly number[] = Object.freeze([]);

/*
 * Field declarations below that the constructor assigns are `declare`d: with ES2022 class fields a
 * plain declaration is emitted as a field defined as undefined before the constructor runs, and V8
 * then gives the field its generic tagged representation, in which every store of a number that
 * is not a small integer (epoch milliseconds never are) allocates a new HeapNumber. Defined first
 * by the constructor's own assignment, a time field gets the double representation instead, whose
 * box is updated in place: extending a session allocates nothing.
 */

export class WorkSession {
  /**
   * Key of this session's one valid entry in the timer heap, NaN when it has none. Heap entries
   * with another key are stale (lazy invalidation, see operator.ts).
   */
  heapKey = Number.NaN;
  /** False once merged into another session or dropped; its heap entries are then stale. */
  alive = true;
  /**
   * Entries in the timer heap that point at this session, valid or stale. A dead session with none
   * is unreachable from the fold's state and may be recycled as a new one (see openSession).
   */
  heapEntries = 0;
  /**
   * This session's index in its operator's session table, -1 until first scheduled. The timer heap
   * holds these small integers, not the sessions (see heap.ts). Kept when the session is recycled.
   */
  slot = -1;
  /** Mutable only for recycling (openSession); a live session never changes user. */
  declare user: WorkUser;
  declare start: number;
  declare end: number;
  declare last: number;
  declare count: number;
  declare pending: boolean;
  /** Treated as an immutable value: replaced, never modified in place, so input arrays can be shared. */
  declare emittedStarts: readonly number[];

  constructor(
    user: WorkUser,
    start: number,
    end: number,
    last: number,
    count: number,
    pending: boolean,
    emittedStarts: readonly number[],
  ) {
    this.user = user;
    this.start = start;
    this.end = end;
    this.last = last;
    this.count = count;
    this.pending = pending;
    this.emittedStarts = emittedStarts;
  }
}

export class WorkUser {
  /**
   * Sorted by start; any two are disjoint and not touching (they would have merged, rule 2).
   * Replaced only by loadUser, with an array of the loaded size.
   */
  sessions: WorkSession[] = [];
  /** Set when sessions change in the current batch (the operator lists it for the checkpoint). */
  changed = false;
  /** Live and pending sessions as last counted (at load or at the end of a batch that changed it). */
  live = 0;
  pending = 0;
  declare readonly userId: string;

  constructor(userId: string) {
    this.userId = userId;
  }
}

/**
 * A new pending one-event session [start, end) of user, made from a recycled dead session when there
 * is one. A fold opens a session for about every third event and drops as many: recycling them keeps
 * the hot path free of allocation and the scavenger from copying (and promoting) sessions that live
 * for a few thousand events. Only sessions with no heap entry are ever recycled, so no stale timer
 * can reach the new one.
 */
export function openSession(
  recycled: WorkSession[],
  user: WorkUser,
  start: number,
  end: number,
): WorkSession {
  const session = recycled.pop();
  if (session === undefined) return new WorkSession(user, start, end, start, 1, true, NO_STARTS);
  session.user = user;
  session.start = start;
  session.end = end;
  session.last = start;
  session.count = 1;
  session.pending = true;
  session.emittedStarts = NO_STARTS;
  session.heapKey = Number.NaN;
  session.alive = true;
  return session;
}

export function loadUser(state: UserState): WorkUser {
  const user = new WorkUser(state.userId);
  // As in exportUser: literals for one or two sessions, instead of push() into [] reserving 17.
  const loaded = state.sessions;
  const n = loaded.length;
  if (n === 1) user.sessions = [loadSession(user, loaded[0] as Session)];
  else if (n === 2)
    user.sessions = [loadSession(user, loaded[0] as Session), loadSession(user, loaded[1] as Session)];
  else for (let i = 0; i < n; i++) user.sessions.push(loadSession(user, loaded[i] as Session));
  return user;
}

function loadSession(user: WorkUser, s: Session): WorkSession {
  return new WorkSession(user, s.start, s.end, s.last, s.count, s.pending, s.emittedStarts);
}

export function exportUser(user: WorkUser): UserState {
  // Users hold one or two sessions, rarely more: array literals make packed arrays of exactly that
  // size without a builtin call (push() into [] would reserve room for 17, and a fold exports every
  // user it changed).
  const work = user.sessions;
  const n = work.length;
  let sessions: Session[];
  if (n === 0) sessions = [];
  else if (n === 1) sessions = [exportSession(work[0] as WorkSession)];
  else if (n === 2) sessions = [exportSession(work[0] as WorkSession), exportSession(work[1] as WorkSession)];
  else sessions = work.map(exportSession);
  return { userId: user.userId, sessions };
}

function exportSession(s: WorkSession): Session {
  return {
    start: s.start,
    end: s.end,
    last: s.last,
    count: s.count,
    pending: s.pending,
    emittedStarts: s.emittedStarts,
  };
}

/** Sorted union of two sorted start lists (a bridge of emitted sessions, rule 7). */
export function unionStarts(a: readonly number[], b: readonly number[]): readonly number[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}
