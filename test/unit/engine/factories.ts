import {
  advanceTo,
  type EngineConfig,
  type EventRecord,
  type FoldResult,
  fold,
  groupKey,
  initialPartitionState,
  type PartitionState,
  type Session,
  type UserState,
} from '../../../lib/engine/index.ts';

/** DESIGN.md defaults (G = 5 s, B = 0, L = 0); every field can be overridden. */
export function engineConfig(overrides: Partial<EngineConfig> = {}): EngineConfig {
  return { gapMs: 5000, outOfOrdernessMs: 0, allowedLatenessMs: 0, ...overrides };
}

/** Records from [userId, eventTime] pairs, offsets counting up from `firstOffset`. */
export function eventRecords(events: readonly (readonly [string, number])[], firstOffset = 0): EventRecord[] {
  return events.map(([userId, eventTime], i) => ({ offset: firstOffset + i, userId, eventTime }));
}

/** A session; `last` defaults to end - 5000 (the default gap), as a fold with G = 5 s builds it. */
export function session(overrides: Partial<Session> & Pick<Session, 'start' | 'end'>): Session {
  return { count: 1, pending: true, emittedStarts: [], last: overrides.end - 5000, ...overrides };
}

export function userState(
  userId: string,
  sessions: readonly Session[],
  lastOffset: number | null = null,
): UserState {
  return { userId, sessions, lastOffset };
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

  fold(records: readonly EventRecord[], nowMs = 0): FoldResult {
    const endOffset = records.length > 0 ? (records[records.length - 1] as EventRecord).offset + 1 : 0;
    return this.keep(
      fold({ config: this.config, partition: this.partition, users: this.users, records, endOffset, nowMs }),
    );
  }

  advanceTo(watermark: number): FoldResult {
    return this.keep(
      advanceTo({ config: this.config, partition: this.partition, users: this.users, watermark }),
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
