import { SlotHeap } from './heap.ts';
import { Output } from './output.ts';
import type { EngineConfig, EventRecord, PartitionStats, UserState } from './types.ts';
import { addEvent } from './windows.ts';
import { exportUser, loadUser, type WorkSession, WorkUser } from './work-state.ts';

/**
 * Flink's WindowOperator over the users of one Kafka partition: the session windows of each user,
 * one event-time timer queue shared by all of them, and the watermark. It lives as long as the
 * partition's state stays in memory (a warm container keeps it between batches, docs/DESIGN.md
 * section 5); each batch's effects are collected between two calls of takeBatch.
 *
 * Each live session has one deadline: `end - 1` while pending (EventTimeTrigger's timer at
 * window.maxTimestamp()), then `end - 1 + L` once fired (WindowOperator's cleanup timer). With L = 0
 * both timers coincide, so a session fires and is dropped at once (rule 6).
 *
 * An early firing (fireEarly, an idle tick) writes a pending session's row without touching the
 * watermark or the timers: the session is no longer pending but keeps its `end - 1` entry, so when
 * the records' watermark passes it, it is dropped (L = 0) or kept for L, as if it had fired then.
 * From its first row on, a session's row follows it: a record that joins it rewrites the row in
 * the same batch (see add). So `pending` means "has no row yet", and every row of a live session
 * shows that session as it is.
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
  /** What the current batch writes (replaced by takeBatch). */
  output = new Output();
  private readonly users = new Map<string, WorkUser>();
  /** Users changed in the current batch, in the order they changed. */
  private changedUsers: WorkUser[] = [];
  private liveSessions = 0;
  private pendingSessions = 0;
  private liveUsers = 0;
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
   * Loads the users and catches up: a session already due at W (a state written by hand, or by a
   * fold with other settings) fires or drops now. A committed state never holds one: every fold
   * ends with everything due fired.
   */
  constructor(config: EngineConfig, watermark: number | null, users: Iterable<UserState>) {
    this.gapMs = config.gapMs;
    this.allowedLatenessMs = config.allowedLatenessMs;
    this.w = watermark ?? Number.NEGATIVE_INFINITY;
    for (const state of users) {
      if (state.sessions.length === 0) continue;
      const user = loadUser(state);
      this.users.set(user.userId, user);
      this.count(user);
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
    const session = addEvent(
      user,
      record.eventTime,
      this.gapMs,
      this.allowedLatenessMs,
      this.w,
      this.recycled,
    );
    if (session === null) {
      // A late record changes no state; a replay rejects it again (rejected_events is keyed by offset).
      this.output.reject(record, this.w);
      if (user.sessions.length === 0 && !user.changed) this.users.delete(user.userId);
      return;
    }
    this.touch(user);
    // EventTimeTrigger.onElement: FIRE when window.maxTimestamp() <= currentWatermark, only
    // possible with L > 0 (a straggler within the allowed lateness). And a session that already
    // has a row (fired early, or on time and kept for L) rewrites it at once: a row of a live
    // session always shows the session as it is, so a row is final exactly when the records'
    // watermark has passed its end - 1 + L (the session_status view, docs/DESIGN.md section 4).
    // Flink would write such a join only when W passes the new end; the final row is the same.
    if (session.emittedStarts.length > 0 || session.end - 1 <= this.w) this.fire(session, true);
    this.schedule(session);
  }

  /**
   * Early firing (docs/DESIGN.md section 4, an idle tick): writes every pending session as it is
   * now. Nothing else changes: the watermark, the timers and the sessions stay, so what a record
   * later does to them, and the final rows, are what they would have been without the tick. A
   * session fired early remembers the start of its row (rule 7), so a record that later moves its
   * start deletes that row.
   */
  fireEarly(): void {
    for (const user of this.users.values()) {
      const sessions = user.sessions;
      for (let i = 0; i < sessions.length; i++) {
        const session = sessions[i] as WorkSession;
        if (session.pending) this.fire(session, true, true);
      }
    }
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
   * Ends the current batch: every user whose state it changed, as plain data (sessions may be empty:
   * a user to forget), in the order they changed; the batch's output; and a fresh output for the next
   * batch. Users left without sessions are forgotten here, so memory holds live users only.
   */
  takeBatch(): { users: Map<string, UserState>; output: Output } {
    const users = new Map<string, UserState>();
    for (const user of this.changedUsers) {
      user.changed = false;
      users.set(user.userId, exportUser(user));
      this.uncount(user);
      if (user.sessions.length === 0) this.users.delete(user.userId);
      else this.count(user);
    }
    this.changedUsers = [];
    const output = this.output;
    this.output = new Output();
    return { users, output };
  }

  /** Every live user as plain data: the partition's whole state (a checkpoint snapshot). */
  exportUsers(): UserState[] {
    const users: UserState[] = [];
    for (const user of this.users.values()) if (user.sessions.length > 0) users.push(exportUser(user));
    return users;
  }

  /** Counts as of the last takeBatch (or the load). */
  stats(): PartitionStats {
    return {
      liveSessions: this.liveSessions,
      pendingSessions: this.pendingSessions,
      liveUsers: this.liveUsers,
    };
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
      this.fire(session, this.allowedLatenessMs > 0);
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

  /**
   * Writes the session's row. `kept`: the session stays in state after this firing (allowed
   * lateness, or an early firing), so it must remember the start its row is under (rule 7); a
   * session dropped right after (L = 0, on time) needs no such list, which saves an allocation on
   * the hot path.
   */
  private fire(session: WorkSession, kept: boolean, early = false): void {
    const { user } = session;
    this.output.emit(
      user.userId,
      session.start,
      session.end,
      session.last,
      session.count,
      session.emittedStarts,
      early,
    );
    session.pending = false;
    // Rule 7 bookkeeping: the row now written under `start` is this session's only row.
    if (kept && (session.emittedStarts.length !== 1 || session.emittedStarts[0] !== session.start)) {
      session.emittedStarts = [session.start];
    }
    this.touch(user);
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
    this.touch(user);
    // No entry left (its valid one was just popped, or it never had one): nothing points at it.
    if (session.heapEntries === 0) this.recycled.push(session);
  }

  private touch(user: WorkUser): void {
    if (user.changed) return;
    user.changed = true;
    this.changedUsers.push(user);
  }

  /** Adds a user's sessions to the partition's counts (and caches them on the user). */
  private count(user: WorkUser): void {
    let pending = 0;
    for (const session of user.sessions) if (session.pending) pending++;
    user.live = user.sessions.length;
    user.pending = pending;
    this.liveSessions += user.live;
    this.pendingSessions += pending;
    if (user.live > 0) this.liveUsers++;
  }

  private uncount(user: WorkUser): void {
    this.liveSessions -= user.live;
    this.pendingSessions -= user.pending;
    if (user.live > 0) this.liveUsers--;
    user.live = 0;
    user.pending = 0;
  }
}
