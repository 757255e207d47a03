import type { EngineConfig, EventRecord, LogRecord } from '../lib/engine/index.ts';

/**
 * Two deliberately simple models of docs/DESIGN.md section 3, written without the engine (types only),
 * for tests to compare it against:
 *
 * - referenceSessions: a naive, literal transcription of Flink's WindowOperator with a merging
 *   assigner (MergingWindowSet, TimeWindow.mergeWindows), EventTimeTrigger, allowed lateness and a
 *   watermark advanced after every record. Every record scans every window and timer: O(n^2), fine
 *   for property tests. Plus rule 7 (rows of superseded starts are deleted), which Flink lacks.
 * - splitSessions: for in-order input where nothing can be late, each user's events sorted and
 *   split where consecutive events are more than G apart.
 *
 * Both also give every session's first and latest event time (`sessions`, `splitSessionDetails`):
 * the rows of user_sessions.
 */

/** A row of aggregated_counts. */
export interface ReferenceRow {
  readonly count: number;
  readonly end: number;
}

/**
 * A row of user_sessions: the aggregated_counts row plus the session's times. Kept apart from
 * ReferenceRow so that `rows` stays comparable, as it is, with what reads aggregated_counts.
 */
export interface ReferenceSession extends ReferenceRow {
  readonly userId: string;
  /** Time of the first event. */
  readonly start: number;
  /** Time of the latest event. */
  readonly last: number;
  /** last - start: 0 for a one-event session. */
  readonly durationMs: number;
}

export interface ReferenceResult {
  /** Final aggregated_counts rows by group_key. */
  readonly rows: Map<string, ReferenceRow>;
  /** Final user_sessions rows by group_key: the same keys as `rows`. */
  readonly sessions: Map<string, ReferenceSession>;
  /** Offsets of the records dropped as late, in input order. */
  readonly lateOffsets: number[];
}

export interface ReferenceOptions {
  /**
   * After the last record, advance the watermark to this value, firing what is due: Infinity is
   * the end-of-stream flush, what the job's rows show once an idle tick followed the last record.
   */
  readonly flushTo?: number;
}

/** group_key, formatted here independently of lib/engine. */
export function referenceKey(userId: string, start: number): string {
  return `${userId}|${new Date(start).toISOString()}`;
}

interface Window {
  readonly userId: string;
  readonly start: number;
  readonly end: number;
  /** Time of the latest event in the window (Flink keeps none; the session table needs it). */
  readonly last: number;
  count: number;
  /** Starts under which this window or a window merged into it wrote a row (rule 7). */
  written: Set<number>;
}

interface Timer {
  readonly userId: string;
  readonly start: number;
  readonly end: number;
  readonly time: number;
}

const maxTimestamp = (w: { end: number }): number => w.end - 1;
const intersects = (a: { start: number; end: number }, b: { start: number; end: number }): boolean =>
  a.start <= b.end && a.end >= b.start;

export function referenceSessions(
  config: EngineConfig,
  records: readonly (EventRecord | LogRecord)[],
  options: ReferenceOptions = {},
): ReferenceResult {
  const { gapMs: gap, outOfOrdernessMs: bound, allowedLatenessMs: lateness } = config;
  const rows = new Map<string, ReferenceRow>();
  const sessions = new Map<string, ReferenceSession>();
  const lateOffsets: number[] = [];
  let windows: Window[] = [];
  let timers: Timer[] = [];
  let watermark = Number.NEGATIVE_INFINITY;

  const cleanupTime = (w: Window): number => maxTimestamp(w) + lateness;
  const registerTimer = (w: Window, time: number): void => {
    const exists = timers.some(
      (x) => x.userId === w.userId && x.start === w.start && x.end === w.end && x.time === time,
    );
    if (!exists) timers.push({ userId: w.userId, start: w.start, end: w.end, time });
  };
  const deleteTimers = (w: Window): void => {
    timers = timers.filter((x) => !(x.userId === w.userId && x.start === w.start && x.end === w.end));
  };
  const emit = (w: Window): void => {
    const key = referenceKey(w.userId, w.start);
    rows.set(key, { count: w.count, end: w.end });
    sessions.set(key, referenceSession(w.userId, w.start, w.last, w.end, w.count));
    for (const s of w.written) {
      if (s === w.start) continue;
      rows.delete(referenceKey(w.userId, s));
      sessions.delete(referenceKey(w.userId, s));
    }
    w.written = new Set([w.start]);
  };

  const processElement = (record: EventRecord): void => {
    const t = record.eventTime;
    const fresh: Window = {
      userId: record.userId,
      start: t,
      end: t + gap,
      last: t,
      count: 0,
      written: new Set(),
    };
    // TimeWindow.mergeWindows: sort by start, sweep, grow a cover while the next window intersects it.
    const candidates = [...windows.filter((w) => w.userId === record.userId), fresh].sort(
      (a, b) => a.start - b.start,
    );
    let group: Window[] = [];
    let cover = { start: 0, end: 0 };
    let mergedGroup: Window[] = [fresh];
    for (const c of candidates) {
      if (group.length > 0 && intersects(cover, c)) {
        group.push(c);
        cover = { start: Math.min(cover.start, c.start), end: Math.max(cover.end, c.end) };
      } else {
        group = [c];
        cover = { start: c.start, end: c.end };
      }
      if (group.includes(fresh)) mergedGroup = group;
    }
    let actual = fresh;
    if (mergedGroup.length > 1) {
      // MergingWindowSet.addWindow -> WindowOperator's MergeFunction.
      const merged: Window = {
        userId: record.userId,
        start: Math.min(...mergedGroup.map((w) => w.start)),
        end: Math.max(...mergedGroup.map((w) => w.end)),
        last: Math.max(...mergedGroup.map((w) => w.last)),
        count: mergedGroup.reduce((n, w) => n + w.count, 0),
        written: new Set(mergedGroup.flatMap((w) => [...w.written])),
      };
      if (maxTimestamp(merged) + lateness <= watermark) {
        throw new Error('Flink: the end timestamp of an event-time window cannot become earlier than W');
      }
      // EventTimeTrigger.onMerge, then the merged windows' trigger and cleanup timers are deleted.
      for (const w of mergedGroup) deleteTimers(w);
      if (maxTimestamp(merged) > watermark) registerTimer(merged, maxTimestamp(merged));
      windows = windows.filter((w) => !mergedGroup.includes(w));
      windows.push(merged);
      actual = merged;
    } else {
      windows.push(fresh);
    }
    // WindowOperator.isWindowLate: drop the element, retire the window.
    if (cleanupTime(actual) <= watermark) {
      windows = windows.filter((w) => w !== actual);
      lateOffsets.push(record.offset);
      return;
    }
    actual.count += 1;
    // EventTimeTrigger.onElement.
    if (maxTimestamp(actual) <= watermark) emit(actual);
    else registerTimer(actual, maxTimestamp(actual));
    registerTimer(actual, cleanupTime(actual));
  };

  // InternalTimerServiceImpl.advanceWatermark: fire every timer <= W in timestamp order.
  const advanceWatermark = (target: number): void => {
    if (target <= watermark) return;
    watermark = target;
    for (;;) {
      const due = timers.filter((x) => x.time <= watermark);
      if (due.length === 0) return;
      const timer = due.reduce((a, b) => (b.time < a.time ? b : a));
      timers = timers.filter((x) => x !== timer);
      const window = windows.find(
        (w) => w.userId === timer.userId && w.start === timer.start && w.end === timer.end,
      );
      if (window === undefined) continue;
      if (timer.time === maxTimestamp(window)) emit(window);
      if (timer.time === cleanupTime(window)) {
        windows = windows.filter((w) => w !== window);
        deleteTimers(window);
      }
    }
  };

  // docs/DESIGN.md section 4: ticks decide when rows appear, never what they finally hold, so the
  // reference ignores them. The rows a job shows once a tick followed the last record are those
  // of the end-of-stream flush (flushTo: Infinity).
  for (const record of records) {
    if ('tick' in record) continue;
    processElement(record);
    advanceWatermark(record.eventTime - bound - 1);
  }
  if (options.flushTo !== undefined) advanceWatermark(options.flushTo);
  return { rows, sessions, lateOffsets };
}

function referenceSession(
  userId: string,
  start: number,
  last: number,
  end: number,
  count: number,
): ReferenceSession {
  return { userId, start, last, end, count, durationMs: last - start };
}

/**
 * Sessions of in-order input with nothing late (records sorted by event time and B >= 1, or no ties
 * across users when B = 0): per user, sorted events split where the next one is more than G after the
 * previous (rule 2: exactly G apart still merge). Every session, fired or not.
 */
export function splitSessions(
  config: EngineConfig,
  records: readonly (EventRecord | LogRecord)[],
): Map<string, ReferenceRow> {
  const rows = new Map<string, ReferenceRow>();
  for (const [key, { count, end }] of splitSessionDetails(config, records)) rows.set(key, { count, end });
  return rows;
}

/** splitSessions with the sessions' times: the user_sessions rows. */
export function splitSessionDetails(
  config: EngineConfig,
  records: readonly (EventRecord | LogRecord)[],
): Map<string, ReferenceSession> {
  const byUser = new Map<string, number[]>();
  for (const r of records) {
    if ('tick' in r) continue;
    byUser.set(r.userId, [...(byUser.get(r.userId) ?? []), r.eventTime]);
  }
  const sessions = new Map<string, ReferenceSession>();
  for (const [userId, times] of byUser) {
    times.sort((a, b) => a - b);
    let start = times[0] as number;
    let last = start;
    let count = 0;
    const close = (): void =>
      void sessions.set(
        referenceKey(userId, start),
        referenceSession(userId, start, last, last + config.gapMs, count),
      );
    for (const t of times) {
      if (t - last > config.gapMs) {
        close();
        start = t;
        count = 0;
      }
      last = t;
      count += 1;
    }
    close();
  }
  return sessions;
}
