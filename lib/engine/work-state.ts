import type { Session, UserState } from './types.ts';

/**
 * The fold's working state: every live session of a partition, and its users, as columns of typed
 * arrays (docs/STATE.md section 2, "Memory"). A warm container keeps a partition's engine between
 * batches, so this is what a live session costs at rest: a few dozen bytes in flat arrays (no
 * object, no boxed number per session) instead of two objects and a list of several hundred bytes.
 * The public model (types.ts) stays readonly plain data; exportUser and visitUsers build it (or
 * hand it over field by field) from these columns, loadUser copies into them.
 *
 * A session is a slot: an index into the session columns. A user is an index into the user columns;
 * its sessions form a list through `next`, newest first (events almost always extend the newest
 * session, so the scan that merges an event stops at once). The timer heap holds slots (heap.ts).
 */

/** No session, no user (the end of a list, a user without sessions). */
export const NONE = -1;

/** Session flags. */
export const PENDING = 1;
/** Cleared once merged into another session or dropped: its heap entries are then stale. */
export const ALIVE = 2;
/** emittedStarts is exactly [start]: the session has written its row under its own start. */
export const EMITTED_SELF = 4;
/** emittedStarts is another list, kept in SessionTable.emittedLists (rare: a join moved a start). */
export const EMITTED_LIST = 8;

/** Shared empty list: most sessions have written no row under another start. */
export const NO_STARTS: readonly number[] = Object.freeze([]);

/**
 * How the columns grow: doubling while small, then by a quarter, so that a big partition's columns
 * are at most a fifth empty and a growth copies no more than that (the old columns are garbage
 * while the new ones fill: the peak is the sum of both).
 */
const grow = (capacity: number): number =>
  capacity < 65_536 ? Math.max(64, 2 * capacity) : Math.ceil(capacity * 1.25);

/** Columns sized for a known count: an eighth more, so that the first new sessions do not grow them. */
const sized = (count: number | undefined): number => Math.max(64, Math.ceil((count ?? 0) * 1.125));

/**
 * The hash of a user id (FNV-1a over its UTF-16 code units, then murmur3's finaliser, so that the
 * low bits, which pick the slot, depend on every character). Deterministic, as the engine is pure:
 * only the speed of lookups depends on it, never a result.
 */
export function hashId(userId: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < userId.length; i++) h = Math.imul(h ^ userId.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(array: T, capacity: number): T {
  const next = new (array.constructor as new (n: number) => T)(capacity);
  next.set(array);
  return next;
}

/** A user table of `pairs` (hash, user) pairs, all empty. */
function emptySlots(pairs: number): Int32Array {
  const slots = new Int32Array(2 * pairs);
  for (let i = 1; i < slots.length; i += 2) slots[i] = NONE;
  return slots;
}

/** Column sizes to start with, when the caller knows them (a cold load: the checkpoint's counts). */
export interface CapacityHint {
  readonly users?: number;
  readonly sessions?: number;
}

export class SessionTable {
  // Session columns, by slot.
  start: Float64Array;
  end: Float64Array;
  /**
   * Time of the session's latest event. Stored, not derived as end - G: the gap of the run that
   * built the session is not necessarily the gap of the run that reads it back.
   */
  last: Float64Array;
  /** Events in the session, duplicates included (a double: exact to 2^53). */
  count: Float64Array;
  /**
   * Key of the session's one valid entry in the timer heap, NaN when it has none. Heap entries
   * with another key are stale (lazy invalidation, see operator.ts).
   */
  heapKey: Float64Array;
  /** The user the session belongs to. */
  user: Int32Array;
  /** The user's next older session, NONE at the oldest. */
  next: Int32Array;
  /**
   * Entries in the timer heap that point at this slot, valid or stale. A dead session with none is
   * unreachable and its slot is recycled for the next session a record opens (see openSession).
   */
  heapEntries: Int32Array;
  flags: Uint8Array;
  /**
   * emittedStarts of the sessions flagged EMITTED_LIST: starts of rows this session (or any session
   * merged into it) has written under other starts than its own (docs/DESIGN.md section 3, rule 7).
   */
  readonly emittedLists = new Map<number, readonly number[]>();
  /** Slots handed out so far; slots at and above it were never used. */
  private sessionTop = 0;
  /** Dead sessions no heap entry points at (and slots freed while loading), for reuse. */
  readonly recycled: number[] = [];

  // User columns, by user index.
  readonly userIds: (string | undefined)[] = [];
  /** The user's newest session, NONE when it has none. */
  head: Int32Array;
  /** Live and pending sessions as last counted (at load, or at the end of a batch that changed it). */
  live: Int32Array;
  pending: Int32Array;
  /** 1 while the user's sessions changed in the current batch (the operator lists it for the checkpoint). */
  changed: Uint8Array;
  /** hashId of the user's id. */
  private hashes: Int32Array;
  /**
   * The users in the order they came (a user that left and came back is at the end): the order of
   * exportUsers, of an early firing and of a snapshot. A list through these two columns.
   */
  private newer: Int32Array;
  private older: Int32Array;
  /** The user that came first, NONE when there is none; then nextUser. */
  firstUser = NONE;
  private lastUser = NONE;
  /**
   * Users by id: an open-addressing table of (id hash, user index) pairs side by side (index NONE
   * where empty), linear probing, at most three quarters full. A JS Map of string keys costs about
   * 40 bytes an entry and rehashes every key as it grows; this costs 11 to 21, is sized at once for
   * a cold load, and a probe run mostly lies in one cache line (eight pairs), read before the id of
   * a user whose hash matches is compared.
   */
  private slots: Int32Array;
  /** Users held. */
  users = 0;
  private userTop = 0;
  private readonly freeUsers: number[] = [];
  /** UTF-16 code units of the ids of the users held, for memoryBytes. */
  private idChars = 0;

  constructor(hint: CapacityHint = {}) {
    const sessions = sized(hint.sessions);
    this.start = new Float64Array(sessions);
    this.end = new Float64Array(sessions);
    this.last = new Float64Array(sessions);
    this.count = new Float64Array(sessions);
    this.heapKey = new Float64Array(sessions);
    this.user = new Int32Array(sessions);
    this.next = new Int32Array(sessions);
    this.heapEntries = new Int32Array(sessions);
    this.flags = new Uint8Array(sessions);
    const users = sized(hint.users);
    this.head = new Int32Array(users);
    this.live = new Int32Array(users);
    this.pending = new Int32Array(users);
    this.changed = new Uint8Array(users);
    this.hashes = new Int32Array(users);
    this.newer = new Int32Array(users);
    this.older = new Int32Array(users);
    this.slots = emptySlots(2 ** Math.ceil(Math.log2((4 * users) / 3)));
  }

  /** A new pending session of user u, at no place in its list yet (the caller links it). */
  openSession(u: number, start: number, end: number, last: number, count: number): number {
    let s = this.recycled.pop();
    if (s === undefined) {
      s = this.sessionTop++;
      if (s === this.start.length) this.growSessions();
    }
    this.start[s] = start;
    this.end[s] = end;
    this.last[s] = last;
    this.count[s] = count;
    this.heapKey[s] = Number.NaN;
    this.user[s] = u;
    this.next[s] = NONE;
    this.flags[s] = PENDING | ALIVE;
    return s;
  }

  /** Marks a session dead (merged away or dropped); its slot is recycled once no heap entry points at it. */
  kill(s: number): void {
    if ((this.flags[s] as number) & EMITTED_LIST) this.emittedLists.delete(s);
    this.flags[s] = 0;
    if (this.heapEntries[s] === 0) this.recycled.push(s);
  }

  /** The session's emittedStarts as a list (allocates only for EMITTED_SELF). */
  emittedStarts(s: number): readonly number[] {
    const flags = this.flags[s] as number;
    if (flags & EMITTED_SELF) return [this.start[s] as number];
    if (flags & EMITTED_LIST) return this.emittedLists.get(s) as readonly number[];
    return NO_STARTS;
  }

  /** Sets emittedStarts (after `start` has its final value: [start] is stored as a flag). */
  setEmittedStarts(s: number, starts: readonly number[]): void {
    let flags = (this.flags[s] as number) & ~(EMITTED_SELF | EMITTED_LIST);
    if ((this.flags[s] as number) & EMITTED_LIST) this.emittedLists.delete(s);
    if (starts.length === 1 && starts[0] === this.start[s]) flags |= EMITTED_SELF;
    else if (starts.length > 0) {
      flags |= EMITTED_LIST;
      this.emittedLists.set(s, starts);
    }
    this.flags[s] = flags;
  }

  /** The user's index, NONE when it is not held. */
  find(userId: string): number {
    const hash = hashId(userId);
    const { slots, userIds } = this;
    const mask = (slots.length >> 1) - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const u = slots[2 * at + 1] as number;
      if (u === NONE || (slots[2 * at] === hash && userIds[u] === userId)) return u;
    }
  }

  /** The user's index, creating the user (without sessions, the newest user) when it is not held. */
  userOf(userId: string): number {
    const hash = hashId(userId);
    let slots = this.slots;
    let mask = (slots.length >> 1) - 1;
    let at = hash & mask;
    for (; ; at = (at + 1) & mask) {
      const known = slots[2 * at + 1] as number;
      if (known === NONE) break;
      if (slots[2 * at] === hash && this.userIds[known] === userId) return known;
    }
    let u = this.freeUsers.pop();
    if (u === undefined) {
      u = this.userTop++;
      if (u === this.head.length) this.growUsers();
    }
    if (8 * (this.users + 1) > 3 * slots.length) {
      // At most three quarters full: twice the pairs.
      this.rehash(slots.length);
      slots = this.slots;
      mask = (slots.length >> 1) - 1;
      for (at = hash & mask; slots[2 * at + 1] !== NONE; at = (at + 1) & mask);
    }
    slots[2 * at] = hash;
    slots[2 * at + 1] = u;
    this.users++;
    this.userIds[u] = userId;
    this.hashes[u] = hash;
    this.head[u] = NONE;
    this.live[u] = 0;
    this.pending[u] = 0;
    this.changed[u] = 0;
    this.newer[u] = NONE;
    this.older[u] = this.lastUser;
    if (this.lastUser === NONE) this.firstUser = u;
    else this.newer[this.lastUser] = u;
    this.lastUser = u;
    this.idChars += userId.length;
    return u;
  }

  /** The user that came after u, NONE after the newest. */
  nextUser(u: number): number {
    return this.newer[u] as number;
  }

  /** Forgets a user that holds no session. */
  dropUser(u: number): void {
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    let hole = (this.hashes[u] as number) & mask;
    while (slots[2 * hole + 1] !== u) hole = (hole + 1) & mask;
    // Backward-shift deletion: later users of the probe run move up unless their home lies in
    // between, so that every lookup still finds its user before an empty slot.
    slots[2 * hole + 1] = NONE;
    for (let at = (hole + 1) & mask; ; at = (at + 1) & mask) {
      const v = slots[2 * at + 1] as number;
      if (v === NONE) break;
      const home = (slots[2 * at] as number) & mask;
      const stays = hole <= at ? hole < home && home <= at : hole < home || home <= at;
      if (stays) continue;
      slots[2 * hole] = slots[2 * at] as number;
      slots[2 * hole + 1] = v;
      slots[2 * at + 1] = NONE;
      hole = at;
    }
    const older = this.older[u] as number;
    const newer = this.newer[u] as number;
    if (older === NONE) this.firstUser = newer;
    else this.newer[older] = newer;
    if (newer === NONE) this.lastUser = older;
    else this.older[newer] = older;
    this.users--;
    this.idChars -= (this.userIds[u] as string).length;
    this.userIds[u] = undefined;
    this.freeUsers.push(u);
  }

  /** The user table rebuilt with `pairs` pairs. */
  private rehash(pairs: number): void {
    const slots = emptySlots(pairs);
    const mask = pairs - 1;
    for (let u = this.firstUser; u !== NONE; u = this.newer[u] as number) {
      const hash = this.hashes[u] as number;
      let at = hash & mask;
      while (slots[2 * at + 1] !== NONE) at = (at + 1) & mask;
      slots[2 * at] = hash;
      slots[2 * at + 1] = u;
    }
    this.slots = slots;
  }

  /**
   * The user's sessions, oldest first, into `into` (a reused list: no allocation per user); returns
   * how many. Lists are short (one or two sessions, rarely more).
   */
  sessionsOf(u: number, into: number[]): number {
    let n = 0;
    for (let s = this.head[u] as number; s !== NONE; s = this.next[s] as number) into[n++] = s;
    // Newest first in the list: reverse in place.
    for (let i = 0, j = n - 1; i < j; i++, j--) {
      const x = into[i] as number;
      into[i] = into[j] as number;
      into[j] = x;
    }
    return n;
  }

  /**
   * Bytes this table holds, estimated: the columns as allocated, and per user its id (a V8 string:
   * 16 bytes and its characters, about 4 more rounding them to 8) and its place in `userIds`.
   * docs/DEPLOY.md, "Sizing", compares it with what the bench measures.
   */
  memoryBytes(): number {
    const sessions = this.start.length * (5 * 8 + 3 * 4 + 1);
    const users = this.head.length * (6 * 4 + 1) + this.slots.length * 4 + this.userIds.length * 8;
    const ids = this.users * (16 + 4) + this.idChars;
    const lists = this.emittedLists.size * 120 + this.recycled.length * 8 + this.freeUsers.length * 8;
    return sessions + users + ids + lists;
  }

  private growSessions(): void {
    const capacity = grow(this.start.length);
    this.start = grown(this.start, capacity);
    this.end = grown(this.end, capacity);
    this.last = grown(this.last, capacity);
    this.count = grown(this.count, capacity);
    this.heapKey = grown(this.heapKey, capacity);
    this.user = grown(this.user, capacity);
    this.next = grown(this.next, capacity);
    this.heapEntries = grown(this.heapEntries, capacity);
    this.flags = grown(this.flags, capacity);
  }

  private growUsers(): void {
    const capacity = grow(this.head.length);
    this.head = grown(this.head, capacity);
    this.live = grown(this.live, capacity);
    this.pending = grown(this.pending, capacity);
    this.changed = grown(this.changed, capacity);
    this.hashes = grown(this.hashes, capacity);
    this.newer = grown(this.newer, capacity);
    this.older = grown(this.older, capacity);
  }
}

/** One session as plain data (exportUser, and the tests). */
export function exportSession(table: SessionTable, s: number): Session {
  return {
    start: table.start[s] as number,
    end: table.end[s] as number,
    last: table.last[s] as number,
    count: table.count[s] as number,
    pending: ((table.flags[s] as number) & PENDING) !== 0,
    emittedStarts: table.emittedStarts(s),
  };
}

/** A user's sessions as plain data, oldest first. */
export function exportUser(table: SessionTable, u: number, scratch: number[]): UserState {
  const n = table.sessionsOf(u, scratch);
  const sessions: Session[] = new Array(n);
  for (let i = 0; i < n; i++) sessions[i] = exportSession(table, scratch[i] as number);
  return { userId: table.userIds[u] as string, sessions };
}

/** Sorted union of two sorted start lists (a bridge of emitted sessions, rule 7). */
export function unionStarts(a: readonly number[], b: readonly number[]): readonly number[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}
