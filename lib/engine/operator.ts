import { SlotHeap } from './heap.ts';
import { Output } from './output.ts';
import type { EngineConfig, EventRecord, PartitionStats, UserState, UserVisitor } from './types.ts';
import { addEvent } from './windows.ts';
import {
  ALIVE,
  type CapacityHint,
  EMITTED_LIST,
  EMITTED_SELF,
  exportUser,
  NO_STARTS,
  NONE,
  PENDING,
  SessionTable,
} from './work-state.ts';

/**
 * Flink's WindowOperator over the users of one Kafka partition: the session windows of each user,
 * one event-time timer queue shared by all of them, and the watermark. It lives as long as the
 * partition's state stays in memory (a warm container keeps it between batches, docs/DESIGN.md
 * section 5); each batch's effects are collected between two calls of takeBatch. Sessions and users
 * are columns of a SessionTable (work-state.ts): a session is a slot, a user an index.
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
 * Invariant after loading and after every advance: no live session has a deadline <= W (everything
 * due has fired and everything expired was dropped). Hence a result never holds a pending session
 * with end - 1 <= W.
 *
 * Heap entries are invalidated lazily instead of being removed: an entry is valid only if its
 * session is alive and the entry's key equals its heapKey. A session that grows keeps its (now
 * early) entry, which is re-pushed with the true deadline when popped; a push happens only when the
 * deadline moves earlier than the current entry (a fired session joined again) or there is none.
 *
 * Every session counts its entries, valid or stale (heapEntries). A dead session (dropped, or merged
 * into another) whose count is zero is referenced by nothing, and its slot is recycled for the next
 * session a record opens: with L = 0 that is every fired session, since its one entry was just
 * popped. Every live session has at least one entry after each operation.
 */
export class SessionOperator {
  /** What the current batch writes (replaced by takeBatch). */
  output = new Output();
  private readonly table: SessionTable;
  /** Users changed in the current batch, in the order they changed. */
  private changedUsers: number[] = [];
  /** Users the last batch left without sessions, dropped when the next one begins (beginBatch). */
  private emptied: number[] = [];
  /** Batches begun: a ChangedUsers is readable while this is the one it was taken in. */
  private batch = 0;
  private liveSessions = 0;
  private pendingSessions = 0;
  private liveUsers = 0;
  /** Timers as (deadline, session slot). */
  private readonly timers: SlotHeap;
  /** A user's sessions, oldest first (SessionTable.sessionsOf), reused so that walking users allocates nothing. */
  private readonly scratch: number[] = [];
  /** emittedStarts "[start]" handed to a visitor, reused likewise (visitors do not keep the list). */
  private readonly self: number[] = [0];
  // Assigned by the constructor; declared only, so that they are not first defined as undefined (V8
  // would then give them the tagged representation, boxing every double stored). W is initialised
  // with a double for the same reason.
  declare private readonly gapMs: number;
  declare private readonly allowedLatenessMs: number;
  private w = Number.NEGATIVE_INFINITY;

  /** An operator without users; load() or a loader (beginLoad, finishLoad) fills it. */
  constructor(config: EngineConfig, watermark: number | null, hint?: CapacityHint) {
    this.gapMs = config.gapMs;
    this.allowedLatenessMs = config.allowedLatenessMs;
    this.w = watermark ?? Number.NEGATIVE_INFINITY;
    this.table = new SessionTable(hint);
    this.timers = new SlotHeap(Math.ceil((hint?.sessions ?? 0) * 1.125));
  }

  /** The current watermark; null stands for minus infinity (no record yet). */
  get watermark(): number | null {
    return this.w === Number.NEGATIVE_INFINITY ? null : this.w;
  }

  /** Loads users given as plain data (each once), then catches up as finishLoad does. */
  load(users: Iterable<UserState>): void {
    const loader = this.beginLoad();
    for (const state of users) {
      loader.user(state.userId, state.sessions.length);
      for (const s of state.sessions)
        loader.session(s.start, s.end, s.last, s.count, s.pending, s.emittedStarts);
    }
    this.finishLoad();
  }

  /**
   * A visitor that loads state images, in order (a snapshot, then the deltas since): a user replaces
   * what an earlier image held of it (keeping its place among the users), a tombstone forgets it.
   * Nothing is scheduled until finishLoad.
   */
  beginLoad(): UserVisitor {
    const table = this.table;
    let current = NONE;
    return {
      user(userId: string, sessions: number): void {
        // A user held while loading has sessions (tombstoned ones are dropped): none means new.
        const u = table.userOf(userId);
        // Loaded sessions have no heap entry yet: their slots are free at once.
        for (let s = table.head[u] as number; s !== NONE; ) {
          const older = table.next[s] as number;
          table.kill(s);
          s = older;
        }
        table.head[u] = NONE;
        if (sessions === 0) table.dropUser(u);
        current = sessions === 0 ? NONE : u;
      },
      session(start, end, last, count, pending, emittedStarts): void {
        if (current === NONE) return;
        const s = table.openSession(current, start, end, last, count);
        if (!pending) table.flags[s] = ALIVE;
        // Images list a user's sessions oldest first; the list runs newest first.
        table.next[s] = table.head[current] as number;
        table.head[current] = s;
        if (emittedStarts.length > 0) {
          // The decoder may reuse its list: keep a copy (unless it is "[start]", stored as a flag).
          table.setEmittedStarts(
            s,
            emittedStarts.length === 1 && emittedStarts[0] === start ? emittedStarts : [...emittedStarts],
          );
        }
      },
    };
  }

  /**
   * Ends a load and catches up: a session already due at W (a state written by hand, or by a fold
   * with other settings) fires or drops now. A committed state never holds one: every fold ends
   * with everything due fired. Users are settled in the order they are held, each oldest session
   * first.
   */
  finishLoad(): void {
    const table = this.table;
    const sessions: number[] = [];
    for (let u = table.firstUser; u !== NONE; u = table.nextUser(u)) {
      this.count(u);
      const n = table.sessionsOf(u, sessions);
      for (let i = 0; i < n; i++) this.settle(sessions[i] as number);
    }
  }

  /**
   * Applies one record at the current watermark (WindowOperator.processElement): merged into its
   * user's sessions, or rejected as late.
   */
  add(record: EventRecord): void {
    const table = this.table;
    const u = table.userOf(record.userId);
    const s = addEvent(table, u, record.eventTime, this.gapMs, this.allowedLatenessMs, this.w);
    if (s === NONE) {
      // A late record changes no state; a replay rejects it again (rejected_events is keyed by offset).
      this.output.reject(record, this.w);
      if (table.head[u] === NONE && table.changed[u] === 0) table.dropUser(u);
      return;
    }
    this.touch(u);
    // EventTimeTrigger.onElement: FIRE when window.maxTimestamp() <= currentWatermark, only
    // possible with L > 0 (a straggler within the allowed lateness). And a session that already
    // has a row (fired early, or on time and kept for L) rewrites it at once: a row of a live
    // session always shows the session as it is, so a row is final exactly when the records'
    // watermark has passed its end - 1 + L (the session_status view, docs/DESIGN.md section 4).
    // Flink would write such a join only when W passes the new end; the final row is the same.
    if (
      (table.flags[s] as number) & (EMITTED_SELF | EMITTED_LIST) ||
      (table.end[s] as number) - 1 <= this.w
    ) {
      this.fire(s, true);
    }
    this.schedule(s);
  }

  /**
   * Early firing (docs/DESIGN.md section 4, an idle tick): writes every pending session as it is
   * now. Nothing else changes: the watermark, the timers and the sessions stay, so what a record
   * later does to them, and the final rows, are what they would have been without the tick. A
   * session fired early remembers the start of its row (rule 7), so a record that later moves its
   * start deletes that row.
   */
  fireEarly(): void {
    const table = this.table;
    const sessions = this.scratch;
    for (let u = table.firstUser; u !== NONE; u = table.nextUser(u)) {
      const n = table.sessionsOf(u, sessions);
      for (let i = 0; i < n; i++) {
        const s = sessions[i] as number;
        if ((table.flags[s] as number) & PENDING) this.fire(s, true, true);
      }
    }
  }

  /** Moves W forward (never back) and fires/drops everything now due, in deadline order. */
  advance(watermark: number): void {
    if (!(watermark > this.w)) return;
    this.w = watermark;
    const timers = this.timers;
    const table = this.table;
    while (timers.peekKey() <= watermark) {
      const key = timers.peekKey();
      const s = timers.pop();
      const entries = (table.heapEntries[s] as number) - 1;
      table.heapEntries[s] = entries;
      if (((table.flags[s] as number) & ALIVE) === 0) {
        // Merged away or dropped earlier; once its last entry is gone, nothing points at it.
        if (entries === 0) table.recycled.push(s);
        continue;
      }
      if (key !== table.heapKey[s]) continue;
      table.heapKey[s] = Number.NaN;
      this.settle(s);
    }
  }

  /**
   * Ends the current batch: the users whose state it changed, in the order they changed, as a view
   * (ChangedUsers: a user without sessions is one to forget); the batch's output; and a fresh output
   * for the next batch. Users left without sessions are forgotten when the next batch begins
   * (beginBatch), so between batches memory holds live users and the last batch's emptied ones.
   */
  takeBatch(): { changed: ChangedUsers; output: Output } {
    const table = this.table;
    const changed = this.changedUsers;
    for (let i = 0; i < changed.length; i++) {
      const u = changed[i] as number;
      table.changed[u] = 0;
      this.uncount(u);
      // A user left without sessions stays readable (its id) until the next batch begins.
      if (table.head[u] === NONE) this.emptied.push(u);
      else this.count(u);
    }
    this.changedUsers = [];
    const output = this.output;
    this.output = new Output();
    return { changed: new ChangedUsers(this, this.table, changed, this.batch), output };
  }

  /**
   * Before a batch's first record: the users the last batch left without sessions are forgotten,
   * and what takeBatch returned for it can no longer be read.
   */
  beginBatch(): void {
    const table = this.table;
    for (const u of this.emptied) if (table.head[u] === NONE) table.dropUser(u);
    this.emptied = [];
    this.batch++;
  }

  /** The batch a ChangedUsers was taken in, for its check that it is still readable. */
  get batchNumber(): number {
    return this.batch;
  }

  /** Every live user as plain data: the partition's whole state. */
  exportUsers(): UserState[] {
    const table = this.table;
    const users: UserState[] = [];
    for (let u = table.firstUser; u !== NONE; u = table.nextUser(u)) {
      if (table.head[u] !== NONE) users.push(exportUser(table, u, this.scratch));
    }
    return users;
  }

  /**
   * Hands every live user to `visitor`, field by field (a checkpoint snapshot is encoded so, without
   * a plain copy of the state). The emittedStarts lists are valid during the call only.
   */
  visitUsers(visitor: UserVisitor): void {
    const table = this.table;
    for (let u = table.firstUser; u !== NONE; u = table.nextUser(u)) {
      if (table.head[u] !== NONE) visitUser(table, u, this.scratch, this.self, visitor);
    }
  }

  /** Counts as of the last takeBatch (or the load). */
  stats(): PartitionStats {
    return {
      liveSessions: this.liveSessions,
      pendingSessions: this.pendingSessions,
      liveUsers: this.liveUsers,
    };
  }

  /** Bytes the partition's state holds in memory, estimated (docs/DEPLOY.md, "Sizing"). */
  memoryBytes(): number {
    return this.table.memoryBytes() + this.timers.bytes + this.scratch.length * 8;
  }

  /**
   * Fires a pending session that is due, drops one that has expired, else (re)schedules it. Whatever
   * it schedules has a deadline > W, so the timer loop in advance always terminates.
   */
  private settle(s: number): void {
    const table = this.table;
    if ((table.flags[s] as number) & PENDING) {
      if ((table.end[s] as number) - 1 > this.w) {
        this.schedule(s);
        return;
      }
      this.fire(s, this.allowedLatenessMs > 0);
    }
    if ((table.end[s] as number) - 1 + this.allowedLatenessMs <= this.w) this.drop(s);
    else this.schedule(s);
  }

  private schedule(s: number): void {
    const table = this.table;
    const end = table.end[s] as number;
    const deadline = (table.flags[s] as number) & PENDING ? end - 1 : end - 1 + this.allowedLatenessMs;
    const key = table.heapKey[s] as number;
    // An existing entry with an earlier key is kept: popping it re-schedules (lazy re-keying).
    if (deadline < key || Number.isNaN(key)) {
      table.heapKey[s] = deadline;
      table.heapEntries[s] = (table.heapEntries[s] as number) + 1;
      this.timers.push(deadline, s);
    }
  }

  /**
   * Writes the session's row. `kept`: the session stays in state after this firing (allowed
   * lateness, or an early firing), so it must remember the start its row is under (rule 7); a
   * session dropped right after (L = 0, on time) needs no such list.
   */
  private fire(s: number, kept: boolean, early = false): void {
    const table = this.table;
    const u = table.user[s] as number;
    const flags = table.flags[s] as number;
    // "[start]" supersedes nothing (only other starts are deleted): the list is needed otherwise only.
    this.output.emit(
      table.userIds[u] as string,
      table.start[s] as number,
      table.end[s] as number,
      table.last[s] as number,
      table.count[s] as number,
      flags & EMITTED_LIST ? table.emittedStarts(s) : NO_STARTS,
      early,
    );
    // Rule 7 bookkeeping: the row now written under `start` is this session's only row.
    if (kept) {
      if (flags & EMITTED_LIST) table.emittedLists.delete(s);
      table.flags[s] = (flags & ~(PENDING | EMITTED_LIST)) | EMITTED_SELF;
    } else {
      table.flags[s] = flags & ~PENDING;
    }
    this.touch(u);
  }

  /** WindowOperator.clearAllState at the cleanup time: the session is forgotten (rule 6/7). */
  private drop(s: number): void {
    const table = this.table;
    const u = table.user[s] as number;
    // Usually the oldest session: the end of its user's short list.
    let previous = NONE;
    let at = table.head[u] as number;
    while (at !== s && at !== NONE) {
      previous = at;
      at = table.next[at] as number;
    }
    if (at === s) {
      if (previous === NONE) table.head[u] = table.next[s] as number;
      else table.next[previous] = table.next[s] as number;
    }
    this.touch(u);
    // No entry left (its valid one was just popped, or it never had one): its slot is free.
    table.kill(s);
  }

  private touch(u: number): void {
    const table = this.table;
    if (table.changed[u] !== 0) return;
    table.changed[u] = 1;
    this.changedUsers.push(u);
  }

  /** Adds a user's sessions to the partition's counts (and caches them on the user). */
  private count(u: number): void {
    const table = this.table;
    let live = 0;
    let pending = 0;
    for (let s = table.head[u] as number; s !== NONE; s = table.next[s] as number) {
      live++;
      if ((table.flags[s] as number) & PENDING) pending++;
    }
    table.live[u] = live;
    table.pending[u] = pending;
    this.liveSessions += live;
    this.pendingSessions += pending;
    if (live > 0) this.liveUsers++;
  }

  private uncount(u: number): void {
    const table = this.table;
    const live = table.live[u] as number;
    this.liveSessions -= live;
    this.pendingSessions -= table.pending[u] as number;
    if (live > 0) this.liveUsers--;
    table.live[u] = 0;
    table.pending[u] = 0;
  }
}

/**
 * The users one batch changed, read from the engine's columns when asked (a delta image is encoded
 * straight from them, field by field, as a snapshot is): no plain copy of each changed user per
 * batch, which was a third of a warm fold's time in batches of 10,000 (docs/BENCHMARKS.md). Readable
 * until the next batch begins: `users` (FoldResult) copies them into plain data for a caller that
 * keeps them longer.
 */
export class ChangedUsers {
  constructor(
    private readonly operator: SessionOperator,
    private readonly table: SessionTable,
    private readonly list: readonly number[],
    private readonly batch: number,
  ) {}

  /** How many users the batch changed (each once). */
  get size(): number {
    return this.list.length;
  }

  /**
   * Each changed user in the order it first changed, with its sessions oldest first: none for a
   * user whose state is gone. The emittedStarts lists are valid during the call only.
   */
  visit(visitor: UserVisitor): void {
    this.check();
    const sessions: number[] = [];
    const self = [0];
    for (let i = 0; i < this.list.length; i++) {
      visitUser(this.table, this.list[i] as number, sessions, self, visitor);
    }
  }

  /** The changed users as plain data, by id. */
  toMap(): Map<string, UserState> {
    this.check();
    const users = new Map<string, UserState>();
    const scratch: number[] = [];
    for (const u of this.list) {
      const state = exportUser(this.table, u, scratch);
      users.set(state.userId, state);
    }
    return users;
  }

  private check(): void {
    if (this.operator.batchNumber !== this.batch) {
      throw new Error(
        "a batch's changed users are readable until the next batch begins; read them (or keep FoldResult.users) before",
      );
    }
  }
}

/**
 * One user to `visitor`: its id and its sessions oldest first (none for a user whose state is gone).
 * `sessions` and `self` are reused lists: "[start]" is handed over in `self`, valid during the call.
 */
function visitUser(
  table: SessionTable,
  u: number,
  sessions: number[],
  self: number[],
  visitor: UserVisitor,
): void {
  const n = table.sessionsOf(u, sessions);
  visitor.user(table.userIds[u] as string, n);
  for (let i = 0; i < n; i++) {
    const s = sessions[i] as number;
    const flags = table.flags[s] as number;
    let emitted = NO_STARTS;
    if (flags & EMITTED_SELF) {
      self[0] = table.start[s] as number;
      emitted = self;
    } else if (flags & EMITTED_LIST) emitted = table.emittedStarts(s);
    visitor.session(
      table.start[s] as number,
      table.end[s] as number,
      table.last[s] as number,
      table.count[s] as number,
      (flags & PENDING) !== 0,
      emitted,
    );
  }
}
