import {
  type EngineConfig,
  type EventRecord,
  type FoldResult,
  fold,
  groupKey,
  initialPartitionState,
  type LogRecord,
  type PartitionState,
  type Session,
  type TickRecord,
  type UserState,
} from '../../../lib/engine/index.ts';

/** docs/DESIGN.md defaults (G = 5 s, B = 0, L = 0), idle flush off; every field can be overridden. */
export function engineConfig(overrides: Partial<EngineConfig> = {}): EngineConfig {
  return { gapMs: 5000, outOfOrdernessMs: 0, allowedLatenessMs: 0, idleFlush: false, ...overrides };
}

/**
 * Records from [userId, eventTime] pairs, offsets counting up from `firstOffset`. The Kafka
 * timestamp is the event time, unless a third element gives it.
 */
export function eventRecords(
  events: readonly (readonly [string, number] | readonly [string, number, number])[],
  firstOffset = 0,
): EventRecord[] {
  return events.map(([userId, eventTime, timestamp], i) => ({
    offset: firstOffset + i,
    userId,
    eventTime,
    timestamp: timestamp ?? eventTime,
  }));
}

/** An idle tick at `offset` with Kafka timestamp `timestamp`. */
export function tick(offset: number, timestamp: number): TickRecord {
  return { offset, tick: true, timestamp };
}

/** A session; `last` defaults to end - 5000 (the default gap), as a fold with G = 5 s builds it. */
export function session(overrides: Partial<Session> & Pick<Session, 'start' | 'end'>): Session {
  return { count: 1, pending: true, emittedStarts: [], last: overrides.end - 5000, ...overrides };
}

export function userState(userId: string, sessions: readonly Session[]): UserState {
  return { userId, sessions };
}

export function partitionState(overrides: Partial<PartitionState> = {}): PartitionState {
  return { ...initialPartitionState(), ...overrides };
}

/** Keeps a partition's state across folds, as the checkpoint store would (every user loaded). */
export class PartitionRun {
  partition: PartitionState = initialPartitionState();
  readonly users = new Map<string, UserState>();
  readonly results: FoldResult[] = [];

  constructor(readonly config: EngineConfig) {}

  fold(records: readonly LogRecord[]): FoldResult {
    const endOffset = records.length > 0 ? (records[records.length - 1] as LogRecord).offset + 1 : 0;
    return this.keep(
      fold({ config: this.config, partition: this.partition, users: this.users, records, endOffset }),
    );
  }

  /** An idle tick after the records so far (it fires early when the config's idle flush is on). */
  tick(timestamp = 0): FoldResult {
    const { nextOffset } = this.partition;
    return this.fold([tick(nextOffset, timestamp)]);
  }

  /**
   * The end-of-stream flush: an idle tick with the idle flush on, which writes every session with
   * unwritten changes (docs/DESIGN.md section 4). The watermark does not move.
   */
  flush(): FoldResult {
    const { nextOffset } = this.partition;
    const config = { ...this.config, idleFlush: true };
    const records = [tick(nextOffset, 0)];
    return this.keep(
      fold({ config, partition: this.partition, users: this.users, records, endOffset: nextOffset + 1 }),
    );
  }

  /** aggregated_counts after every result so far. */
  rows(): Map<string, { count: number; end: number }> {
    return applyResults(new Map(), this.results);
  }

  private keep(result: FoldResult): FoldResult {
    this.partition = result.partition;
    for (const [userId, state] of result.users) this.users.set(userId, state);
    this.results.push(result);
    return result;
  }
}

/** Folds the records as one batch from a fresh partition. */
export function foldOnce(config: EngineConfig, records: readonly EventRecord[]): FoldResult {
  return new PartitionRun(config).fold(records);
}

/**
 * Applies results to rows the way the sink does: per result, every emitted session upserted by
 * group_key (the last wins), then every superseded row deleted.
 */
export function applyResults(
  rows: Map<string, { count: number; end: number }>,
  results: readonly FoldResult[],
): Map<string, { count: number; end: number }> {
  for (const result of results) {
    for (const s of result.emitted) rows.set(groupKey(s.userId, s.start), { count: s.count, end: s.end });
    for (const s of result.superseded) rows.delete(groupKey(s.userId, s.start));
  }
  return rows;
}

/** Emitted sessions without the noise, for compact expectations. */
export function emittedOf(result: FoldResult): [string, number, number, number][] {
  return result.emitted.map((s) => [s.userId, s.start, s.end, s.count]);
}
