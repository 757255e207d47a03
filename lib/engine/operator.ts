import { SlotHeap } from './heap.ts';
import { Output } from './output.ts';
import type { EngineConfig, EventRecord, UserState } from './types.ts';
import { addEvent } from './windows.ts';
import { exportUser, loadUser, type WorkSession, WorkUser } from './work-state.ts';

/**
 * One fold's (or one idle advance's) run of Flink's WindowOperator over the loaded users of one
 * Kafka partition: the session windows of each user, one event-time timer queue shared by all of
 * them, and the watermark.
 *
 * Each live session has one deadline: `end - 1` while pending (EventTimeTrigger's timer at
 * window.maxTimestamp()), then `end - 1 + L` once fired (WindowOperator's cleanup timer). With L = 0
 * both timers coincide, so a session fires and is dropped at once (rule 6).
 *
 * Invariant after construction and after every advance: no live session has a deadline <= W
 * (everything due has fired and everything expired was dropped). Hence a result never holds a
 * pending session with end - 1 <= W, and the due-session index (nextDue) stays a complete list of
 * what the next watermark advance must fire.
 *
 * Heap entries are invalidated lazily instead of being removed: an entry is valid only if its
 * session is alive and the entry's key equals session.heapKey. A session that grows keeps its (now
 * early) entry, which is re-pushed with the true deadline when popped; a push happens only when the
 * deadline moves earlier than the current entry (a fired session joined again) or there is none.
 *
 * Every session counts its entries, valid or stale (heapEntries). A dead session (dropped, or merged
 * into another) whose count is zero is referenced by nothing but the slot table, and is recycled
 * for the next session a record opens (openSession): with L = 0 that is every fired session, since
 * its one entry was just popped. Every live session has at least one entry after each operation.
 */
export class SessionOperator {
  readonly output = new Output();
  private readonly users = new Map<string, WorkUser>();
  /** Timers as (deadline, session slot); `slots` maps a slot back to its session (see WorkSession.slot). */
  private readonly timers = new SlotHeap();
  private readonly slots: WorkSession[] = [];
  /** Dead sessions no heap entry points at, for reuse by addEvent (see openSession). */
  private readonly recycled: WorkSession[] = [];
  // Assigned by the constructor; declared only, so that they are not first defined as undefined (see
  // work-state.ts on field representations). W is initialised with a double for the same reason.
  declare private readonly gapMs: number;
  declare private readonly allowedLatenessMs: number;
  private w = Number.NEGATIVE_INFINITY;

  /**
   * Loads the users and catches up: sessions that were already due at W (missed by an eventually
   * consistent due index) fire or drop now. Their content cannot have changed since they became
   * due, because the user was not loaded, so the rows are the ones Flink would have written then.
   */
  constructor(config: EngineConfig, watermark: number | null, users: ReadonlyMap<string, UserState>) {
    this.gapMs = config.gapMs;
    this.allowedLatenessMs = config.allowedLatenessMs;
    this.w = watermark ?? Number.NEGATIVE_INFINITY;
    for (const state of users.values()) {
      const user = loadUser(state);
      this.users.set(user.userId, user);
      // settle drops at most the session it is given, shifting the later ones down into its place,
      // so the index moves on only past a session that stays (no copy of the list per user).
      const sessions = user.sessions;
      for (let i = 0; i < sessions.length; ) {
        const session = sessions[i] as WorkSession;
        this.settle(session);
        if (session.alive) i++;
      }
    }
  }

  /** The current watermark; null stands for minus infinity (no record yet). */
  get watermark(): number | null {
    return this.w === Number.NEGATIVE_INFINITY ? null : this.w;
  }

  /**
   * Applies one record at the current watermark (WindowOperator.processElement), unless the user
   * already holds it: a re-delivery after a crash that wrote this user's state but not the
   * partition's (UserState.lastOffset). Such a user's state is the one of the end of that earlier
   * fold, which the replay reaches anyway: its remaining records there were late then and are late
   * again, and nothing of it is due before that fold's final W.
   */
  add(record: EventRecord): void {
    let user = this.users.get(record.userId);
    if (user === undefined) {
      user = new WorkUser(record.userId);
      this.users.set(record.userId, user);
    }
    if (record.offset <= (user.lastOffset ?? Number.NEGATIVE_INFINITY)) return;
    const session = addEvent(
      user,
      record.eventTime,
      this.gapMs,
      this.allowedLatenessMs,
      this.w,
      this.recycled,
    );
    if (session === null) {
      // Late records leave lastOffset alone: they change no state, and a replay rejects them again
      // (rejected_events is keyed by offset).
      this.output.reject(record, this.w);
      return;
    }
    user.lastOffset = record.offset;
    // EventTimeTrigger.onElement: FIRE when window.maxTimestamp() <= currentWatermark. Only
    // possible with L > 0 (the window is not late yet already past its end): a join of a fired
    // session, or a straggler within the allowed lateness.
    if (session.end - 1 <= this.w) this.fire(session);
    this.schedule(session);
  }

  /** Moves W forward (never back) and fires/drops everything now due, in deadline order. */
  advance(watermark: number): void {
    if (!(watermark > this.w)) return;
    this.w = watermark;
    const timers = this.timers;
    while (timers.peekKey() <= watermark) {
      const key = timers.peekKey();
      const session = this.slots[timers.pop()] as WorkSession;
      session.heapEntries--;
      if (!session.alive) {
        // Merged away or dropped earlier; once its last entry is gone, nothing points at it.
        if (session.heapEntries === 0) this.recycled.push(session);
        continue;
      }
      if (key !== session.heapKey) continue;
      session.heapKey = Number.NaN;
      this.settle(session);
    }
  }

  /**
   * Every user whose state changed, as plain data (sessions may be empty: state to delete), in the
   * order the users were loaded or first seen. Ends the operator's run: the result is its own user
   * map, turned into the output in place (unchanged users deleted, the others' values replaced by
   * their export). A fold usually changes nearly every user it loads, and building a second map of
   * the same size entry by entry, with a rehash at every doubling, cost more than the rest of the
   * export.
   */
  takeChangedUsers(): Map<string, UserState> {
    const users = this.users as Map<string, WorkUser | UserState>;
    for (const [userId, user] of users) {
      // Replacing the value of an existing key, or deleting the current entry, is safe while
      // iterating a Map: neither reorders nor revisits entries.
      if ((user as WorkUser).changed) users.set(userId, exportUser(user as WorkUser));
      else users.delete(userId);
    }
    return users as Map<string, UserState>;
  }

  /**
   * Fires a pending session that is due, drops one that has expired, else (re)schedules it. Whatever
   * it schedules has a deadline > W, so the timer loop in advance always terminates.
   */
  private settle(session: WorkSession): void {
    if (session.pending) {
      if (session.end - 1 > this.w) {
        this.schedule(session);
        return;
      }
      this.fire(session);
    }
    if (session.end - 1 + this.allowedLatenessMs <= this.w) this.drop(session);
    else this.schedule(session);
  }

  private schedule(session: WorkSession): void {
    const deadline = session.pending ? session.end - 1 : session.end - 1 + this.allowedLatenessMs;
    // An existing entry with an earlier key is kept: popping it re-schedules (lazy re-keying).
    if (deadline < session.heapKey || Number.isNaN(session.heapKey)) {
      if (session.slot < 0) {
        // A recycled session keeps its slot (the table still points at the same object).
        session.slot = this.slots.length;
        this.slots.push(session);
      }
      session.heapKey = deadline;
      session.heapEntries++;
      this.timers.push(deadline, session.slot);
    }
  }

  private fire(session: WorkSession): void {
    const { user } = session;
    this.output.emit(
      user.userId,
      session.start,
      session.end,
      session.last,
      session.count,
      session.emittedStarts,
    );
    session.pending = false;
    // Rule 7 bookkeeping: the row now written under `start` is this session's only row.
    if (this.allowedLatenessMs > 0) session.emittedStarts = [session.start];
    user.changed = true;
  }

  /** WindowOperator.clearAllState at the cleanup time: the session is forgotten (rule 6/7). */
  private drop(session: WorkSession): void {
    const { user } = session;
    session.alive = false;
    // Usually the oldest session; find it and shift the rest down by hand (indexOf and splice are
    // generic builtins, slow for lists this short).
    const sessions = user.sessions;
    const length = sessions.length;
    let index = 0;
    while (index < length && sessions[index] !== session) index++;
    if (index < length) {
      for (let i = index + 1; i < length; i++) sessions[i - 1] = sessions[i] as WorkSession;
      sessions.pop();
    }
    user.changed = true;
    // No entry left (its valid one was just popped, or it never had one): nothing points at it.
    if (session.heapEntries === 0) this.recycled.push(session);
  }
}
