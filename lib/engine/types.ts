/**
 * The engine's data model. Everything here is plain data (JSON-serialisable, no Dates, no
 * classes) so the checkpoint store can persist it as it is and the fold stays pure.
 *
 * Times are epoch milliseconds. A watermark of `null` means "minus infinity" (no record yet).
 */

/** Session-window settings (DESIGN.md section 3). */
export interface EngineConfig {
  /** Inactivity gap G: an event at t opens [t, t + G). */
  readonly gapMs: number;
  /** Out-of-orderness bound B: W = max(t - B - 1). */
  readonly outOfOrdernessMs: number;
  /** Allowed lateness L: a fired session is kept until W >= end - 1 + L. */
  readonly allowedLatenessMs: number;
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
  /** True when the session has changes not yet emitted (new, or joined by an event since it fired). */
  readonly pending: boolean;
  /**
   * Starts of the rows this session (or any session merged into it) has already written to the
   * sink. When it fires under a different start, the rows of these other starts are superseded
   * and deleted (DESIGN.md section 3, rule 7). Always empty when allowed lateness is 0.
   */
  readonly emittedStarts: readonly number[];
}

/** The live sessions of one user within one Kafka partition, sorted by start, non-overlapping. */
export interface UserState {
  readonly userId: string;
  readonly sessions: readonly Session[];
  /**
   * Offset of the last record counted in these sessions; null = none yet. Added to the original
   * model for DESIGN.md section 5: user states are written before the partition state, so after a
   * crash between the two the re-delivered batch meets users that already hold some of its
   * records. fold skips, for this user only, every record at or below this offset.
   */
  readonly lastOffset: number | null;
}

/** Per Kafka partition progress (DESIGN.md section 5). */
export interface PartitionState {
  /** Next Kafka offset to apply; records below it were already applied. */
  readonly nextOffset: number;
  /** Current watermark, records and idle advances included; null = minus infinity. */
  readonly watermark: number | null;
  /** Watermark from records alone (max(t - B - 1)); the base of the idle advance. */
  readonly recordWatermark: number | null;
  /** Largest event time seen; null before the first valid record. */
  readonly maxEventTime: number | null;
  /** Wall-clock time (ms) at which the last batch with records was folded; null = never. */
  readonly lastArrivalMs: number | null;
}

/** A record after decoding and parsing, ready for the fold. */
export interface EventRecord {
  readonly offset: number;
  readonly userId: string;
  readonly eventTime: number;
}

/** A session written to the sink: the row of aggregated_counts. */
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
  /**
   * Current state of every user that has a record in `records`, plus users whose sessions may be
   * due (from the due-session index). A user with a record but absent here starts empty.
   */
  readonly users: ReadonlyMap<string, UserState>;
  /** Valid records of this partition in offset order. Offsets below partition.nextOffset are skipped. */
  readonly records: readonly EventRecord[];
  /** Offset after the last record of the batch, bad ones included (the new nextOffset). */
  readonly endOffset: number;
  /** Wall-clock time of this fold (becomes lastArrivalMs when records is not empty). */
  readonly nowMs: number;
}

export interface FoldResult {
  readonly partition: PartitionState;
  /** New state of every user whose state changed (sessions may be empty: state to drop). */
  readonly users: ReadonlyMap<string, UserState>;
  /** Sessions fired, in emission order (the sink keeps the last per group_key). */
  readonly emitted: readonly EmittedSession[];
  /** Rows to delete, in the same sink transaction as `emitted`. */
  readonly superseded: readonly SupersededSession[];
  readonly late: readonly LateEvent[];
}
