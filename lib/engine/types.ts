/**
 * The engine's data model. Everything here is plain data (JSON-serialisable, no Dates, no
 * classes) so the checkpoint store can persist it as it is and the fold stays pure.
 *
 * Times are epoch milliseconds. A watermark of `null` means "minus infinity" (no record yet).
 */
import type { EmittedSessions } from './emitted.ts';

/** Session-window settings (docs/DESIGN.md section 3) and the idle flush (section 4). */
export interface EngineConfig {
  /** Inactivity gap G: an event at t opens [t, t + G). */
  readonly gapMs: number;
  /** Out-of-orderness bound B: W = max(t - B - 1). */
  readonly outOfOrdernessMs: number;
  /** Allowed lateness L: a fired session is kept until W >= end - 1 + L. */
  readonly allowedLatenessMs: number;
  /**
   * Idle flush as early firing (docs/DESIGN.md section 4): an idle tick writes every session with
   * unwritten changes at once, as a provisional row, and changes nothing else. False: strict Flink,
   * ticks are read and ignored.
   */
  readonly idleFlush: boolean;
}

/** One live session of one user. `end` is exclusive: lastT + G (Flink's TimeWindow.getEnd()). */
export interface Session {
  readonly start: number;
  readonly end: number;
  /**
   * Time of the session's latest event. Stored, not derived as end - G: the gap of the run that
   * built the session is not necessarily the gap of the run that reads it back.
   */
  readonly last: number;
  /** Events in the session, duplicates included. */
  readonly count: number;
  /**
   * True while the session has no row yet (it has not fired, on time or early). Once it has one,
   * every change rewrites the row in the same batch, so a live session that is not pending has a
   * row that shows it exactly as it is.
   */
  readonly pending: boolean;
  /**
   * Starts of the rows this session (or any session merged into it) has already written to the
   * sink. When it fires under a different start, the rows of these other starts are superseded
   * and deleted (docs/DESIGN.md section 3, rule 7). Empty unless the session outlived a firing:
   * allowed lateness > 0, or an early firing by an idle tick.
   */
  readonly emittedStarts: readonly number[];
}

/** The live sessions of one user within one Kafka partition, sorted by start, non-overlapping. */
export interface UserState {
  readonly userId: string;
  readonly sessions: readonly Session[];
}

/**
 * Receives a partition's users one at a time, field by field: a state image as it is decoded into
 * an engine (PartitionLoader), or an engine as it is encoded into an image (visitUsers). No
 * UserState object per user is built on the way, so a partition of millions of users moves between
 * the checkpoint and memory without a second copy of it (docs/STATE.md section 2).
 */
export interface UserVisitor {
  /** A user and how many sessions of it follow; 0 is a tombstone (the user has none left). */
  user(userId: string, sessions: number): void;
  /** One session of the current user; the user's sessions come oldest first. */
  session(
    start: number,
    end: number,
    last: number,
    count: number,
    pending: boolean,
    emittedStarts: readonly number[],
  ): void;
}

/** Per Kafka partition progress (docs/DESIGN.md section 5). */
export interface PartitionState {
  /** Next Kafka offset to apply; records below it were already applied. */
  readonly nextOffset: number;
  /**
   * The records' watermark max(t - B - 1) over the partition's events so far; null = minus
   * infinity. Ticks never move it (docs/DESIGN.md section 4): it alone decides lateness and when a
   * session is final.
   */
  readonly watermark: number | null;
  /** Largest event time seen; null before the first valid record. */
  readonly maxEventTime: number | null;
  /**
   * Largest Kafka record timestamp of a valid event so far (late ones included), for status and
   * logs: how far the producers' clock had got. Decides nothing. Null = none yet.
   */
  readonly lastLogTime: number | null;
}

/** A valid event after decoding and parsing, ready for the fold. */
export interface EventRecord {
  readonly offset: number;
  readonly userId: string;
  readonly eventTime: number;
  /** The Kafka record timestamp (CreateTime or LogAppendTime), for status and logs. */
  readonly timestamp: number;
}

/**
 * An idle tick (docs/DESIGN.md section 4): a control record the sweep appended to a quiet
 * partition. It carries no event and no time the fold uses: reading it writes the partition's
 * unwritten sessions early (provisional rows), and nothing else.
 */
export interface TickRecord {
  readonly offset: number;
  readonly tick: true;
  readonly timestamp: number;
}

/** What the fold reads from a partition's log, in offset order. */
export type LogRecord = EventRecord | TickRecord;

export function isTick(record: LogRecord): record is TickRecord {
  return (record as TickRecord).tick === true;
}

/** A session written to the sink: the row of aggregated_counts (and of user_sessions). */
export interface EmittedSession {
  readonly userId: string;
  readonly start: number;
  readonly end: number;
  /** Time of the latest event; duration = last - start (0 for a one-event session). */
  readonly last: number;
  readonly count: number;
}

/** A row of aggregated_counts that a merged session supersedes (allowed lateness > 0 only). */
export interface SupersededSession {
  readonly userId: string;
  readonly start: number;
}

/** An event the fold refused because its session had already closed (reason `late`). */
export interface LateEvent {
  readonly offset: number;
  readonly userId: string;
  readonly eventTime: number;
  /** The watermark the event was judged against. */
  readonly watermark: number;
}

export interface FoldInput {
  readonly config: EngineConfig;
  readonly partition: PartitionState;
  /** The partition's live users (every one: the fold fires what is due among them). */
  readonly users: ReadonlyMap<string, UserState>;
  /** Valid events and ticks of this partition in offset order. Offsets below nextOffset are skipped. */
  readonly records: readonly LogRecord[];
  /** Offset after the last record of the batch, bad ones included (the new nextOffset). */
  readonly endOffset: number;
}

/**
 * The users a batch changed, read from the engine when asked: readable until the next batch of the
 * same engine begins (PartitionSessions.apply), and it throws if read later.
 */
export interface ChangedUsersView {
  /** How many users the batch changed (each once). */
  readonly size: number;
  /** Each changed user, field by field, as a state image holds it (no sessions: its state is gone). */
  visit(visitor: UserVisitor): void;
}

export interface FoldResult {
  readonly partition: PartitionState;
  /** The users whose state changed, field by field (a delta image is encoded from this). */
  readonly changed: ChangedUsersView;
  /**
   * New state of every user whose state changed (sessions may be empty: state to drop), as plain
   * data: copied from `changed` when first read, so first read before the next batch begins.
   */
  readonly users: ReadonlyMap<string, UserState>;
  /**
   * Sessions fired, in emission order (the sink keeps the last per group_key), as columns: what the
   * job reads.
   */
  readonly emittedColumns: EmittedSessions;
  /** The same sessions as objects, built from the columns when first read (tests, tools). */
  readonly emitted: readonly EmittedSession[];
  /** How many of the emissions were early firings by idle ticks (provisional rows). */
  readonly earlyFired: number;
  /** Rows to delete, in the same sink transaction as `emitted`. */
  readonly superseded: readonly SupersededSession[];
  readonly late: readonly LateEvent[];
}

/** What the checkpoint shows of a partition's live state (status, the sweep's tick decision). */
export interface PartitionStats {
  /**
   * Sessions held: not final yet (the records' watermark has not passed end - 1 + L). Their rows,
   * where written, are provisional.
   */
  readonly liveSessions: number;
  /** Sessions without a row yet: what the next firing (on time or early) writes. */
  readonly pendingSessions: number;
  /** Users with at least one live session. */
  readonly liveUsers: number;
}
