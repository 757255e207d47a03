/**
 * The judge of every experiment, independent of the job: it reads the topic back with kafkajs into
 * a record type of its own, recognises idle ticks by their header itself, classifies every other
 * record from what the producer wrote (values.ts: good values parsed here, bad ones looked up in a
 * table written by hand), folds each partition's events with the test reference (a naive Flink
 * WindowOperator, reference/sessions.ts, written without the engine) and a final flush, and
 * compares every row of aggregated_counts and user_sessions and every rejection with what the job
 * wrote to PostgreSQL. Nothing from lib/ decides anything here (type imports only).
 *
 * The contract judged (idle flush as early firing): ticks decide only when rows appear, never what
 * they finally hold. Once every record, ticks included, is committed and no session has unwritten
 * changes, the rows equal the fold of the records alone with the watermark advanced to +infinity at
 * the end, and the `late` rejections equal the fold's late records.
 */
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { EngineConfig } from '../../lib/engine/index.ts';
import { referenceKey, referenceSessions } from '../../reference/sessions.ts';
import type { ChaosSettings } from './settings.ts';
import { BAD_VALUES, maxEventTime, parseGoodValue } from './values.ts';

/**
 * Control records (docs/STATE.md section 1) carry this header and a null value. With the header
 * value `idle-tick` the record is an idle tick; with any other (the sweep's `refresh-tick`) it is a
 * control record that does nothing visible. Neither is counted nor rejected.
 */
export const TICK_HEADER = 'sessionizer-control';
export const TICK_HEADER_VALUE = 'idle-tick';

/** A record as the judge reads it back: no decoding beyond kafkajs's own. */
export interface LogEntry {
  readonly partition: number;
  readonly offset: number;
  /** The Kafka timestamp as kafkajs gives it: a decimal string (it may exceed 2^53). */
  readonly timestamp: string;
  readonly value: Buffer | null;
  readonly headers: readonly { readonly key: string; readonly value: Buffer }[];
}

/**
 * 'tick' for an idle tick, 'control' for another control record (the header and a null value),
 * undefined for anything else: a record with a value is judged by its value, header or not.
 */
export function controlOf(entry: LogEntry): 'tick' | 'control' | undefined {
  if (entry.value !== null) return undefined;
  const marks = entry.headers.filter((h) => h.key === TICK_HEADER);
  if (marks.length === 0) return undefined;
  return marks.some((h) => h.value.toString('latin1') === TICK_HEADER_VALUE) ? 'tick' : 'control';
}

/** What the judge expects the job to make of one record. */
export type Expectation =
  | { readonly kind: 'tick' }
  | { readonly kind: 'control' }
  | {
      readonly kind: 'event';
      readonly userId: string;
      readonly eventTime: number;
      readonly timestamp: number;
    }
  | { readonly kind: 'reject'; readonly reason: string };

/**
 * The judge's reading of one record, in the order the input rules (docs/DESIGN.md section 2)
 * apply: a control record first; then the value: a bad value from the table, or a good one
 * (`<user>,<millis>`) with its time from the payload or, with EVENT_TIME_SOURCE=kafka, from the
 * Kafka timestamp, which must then be within range (any whole number is a valid envelope: -1 is
 * "none", and the largest long reads as 2^63). A value the producer never writes is an error of
 * the experiment, not a verdict.
 */
export function classify(entry: LogEntry, settings: ChaosSettings): Expectation {
  const control = controlOf(entry);
  if (control === 'tick') return { kind: 'tick' };
  if (control === 'control') return { kind: 'control' };
  const timestamp = Number(entry.timestamp);
  if (entry.value === null || entry.value.length === 0) return { kind: 'reject', reason: 'empty' };
  const text = entry.value.toString('utf8');
  const limit = maxEventTime(settings.gapMs);
  const event = (userId: string, eventTime: number): Expectation =>
    eventTime < 0 || eventTime > limit
      ? { kind: 'reject', reason: 'timestamp_out_of_range' }
      : { kind: 'event', userId, eventTime, timestamp };
  const bad = BAD_VALUES[text];
  if (bad !== undefined) {
    const outcome = settings.eventTimeSource === 'kafka' ? bad.kafka : bad.payload;
    return 'reason' in outcome
      ? { kind: 'reject', reason: outcome.reason }
      : event(outcome.userId, timestamp);
  }
  const good = parseGoodValue(text);
  if (good === undefined) {
    throw new Error(`the judge cannot classify ${entry.partition}:${entry.offset}: ${JSON.stringify(text)}`);
  }
  return event(good.userId, settings.eventTimeSource === 'kafka' ? timestamp : good.eventTime);
}

export interface Verdict {
  /** Records in the log (ticks included), ticks among them, events (valid values), sessions expected. */
  readonly records: number;
  readonly ticks: number;
  /** Ticks the experiment forged itself (future-tick), among `ticks`. */
  readonly forgedTicks: number;
  /** Ticks (not forged) followed by a later record in the same partition: silences that ticked mid-stream. */
  readonly ticksMidStream: number;
  /**
   * Events whose Kafka timestamp is older than a tick (not forged) before them in their partition:
   * records that reached the log after a tick though stamped before it (a backlog, a lagging clock).
   */
  readonly eventsBehindTicks: number;
  readonly events: number;
  /** Events the reference counts (not late), and the sum of count_value in aggregated_counts. */
  readonly expectedCounted: number;
  readonly counted: number;
  readonly sessions: number;
  /** Sessions with no row. */
  readonly lost: number;
  /** Rows with a higher or lower count (or another end) than the reference's. */
  readonly overCounted: number;
  readonly underCounted: number;
  /** Rows the reference does not have. */
  readonly extra: number;
  /** Extra rows that lie inside a reference session of the same user (a superseded provisional row). */
  readonly extraInsideSessions: number;
  /** user_sessions rows that differ from the reference's (times, duration, count), or miss or are extra. */
  readonly sessionRowsWrong: number;
  /** Records rejected as late that are not late, and late records not rejected (or rejected otherwise). */
  readonly wronglyLate: number;
  readonly missedLate: number;
  /** Bad records not rejected with their reason, and rejections of records that are not bad. */
  readonly rejectsWrong: number;
  /**
   * Session keys the reference gives in two partitions: a user whose records are not all in one
   * partition (the producer broke the keyed-by-user rule, docs/DESIGN.md), so two rows collide.
   */
  readonly keysInTwoPartitions: number;
  /** Up to ten differences, for the report. */
  readonly examples: readonly string[];
}

export function clean(verdict: Verdict): boolean {
  return (
    verdict.lost +
      verdict.overCounted +
      verdict.underCounted +
      verdict.extra +
      verdict.sessionRowsWrong +
      verdict.wronglyLate +
      verdict.missedLate +
      verdict.rejectsWrong +
      verdict.keysInTwoPartitions ===
    0
  );
}

export function describeVerdict(v: Verdict): string {
  return (
    `${v.records} records (${v.ticks} idle ticks, ${v.ticksMidStream} mid-stream` +
    `${v.forgedTicks > 0 ? `, ${v.forgedTicks} forged` : ''}), ${v.events} events ` +
    `(${v.eventsBehindTicks} after a tick stamped later), ${v.counted} counted for ${v.expectedCounted}, ${v.sessions} sessions: lost ${v.lost}, ` +
    `over-counted ${v.overCounted}, under-counted ${v.underCounted}, extra ${v.extra}, ` +
    `user_sessions wrong ${v.sessionRowsWrong}, wrongly late ${v.wronglyLate}, missed late ${v.missedLate}, ` +
    `other rejects wrong ${v.rejectsWrong}` +
    `${v.keysInTwoPartitions > 0 ? `, session keys in two partitions ${v.keysInTwoPartitions}` : ''}`
  );
}

/** Every record of the topic, per partition, up to the log end as it is now. */
export async function readTopic(kafka: Kafka, topic: string): Promise<Map<number, LogEntry[]>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const byPartition = new Map<number, LogEntry[]>();
  const remaining = new Map<number, number>();
  for (const p of ends) {
    byPartition.set(p.partition, []);
    if (Number(p.high) > Number(p.low)) remaining.set(p.partition, Number(p.high));
  }
  if (remaining.size === 0) return byPartition;
  const consumer = kafka.consumer({
    groupId: `chaos-verify-${process.pid}-${Date.now()}`,
    maxBytesPerPartition: 4 << 20,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const end = remaining.get(batch.partition);
          if (end === undefined) return;
          const list = byPartition.get(batch.partition) as LogEntry[];
          for (const message of batch.messages) {
            const offset = Number(message.offset);
            if (offset >= end || offset <= (list.at(-1)?.offset ?? -1)) continue;
            const headers: { key: string; value: Buffer }[] = [];
            for (const [key, value] of Object.entries(message.headers ?? {})) {
              for (const v of Array.isArray(value) ? value : [value]) {
                if (v !== undefined)
                  headers.push({ key, value: Buffer.isBuffer(v) ? v : Buffer.from(String(v)) });
              }
            }
            list.push({
              partition: batch.partition,
              offset,
              timestamp: message.timestamp,
              value: message.value,
              headers,
            });
          }
          if ((list.at(-1)?.offset ?? -1) >= end - 1) remaining.delete(batch.partition);
          if (remaining.size === 0) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return byPartition;
}

interface Row {
  count: number;
  end: number;
}

export interface VerifyOptions {
  /** "partition:offset" of the ticks the experiment appended itself. */
  readonly forged?: ReadonlySet<string>;
}

/** Compares what PostgreSQL holds (in `pool`'s schema) with the reference fold of `log`. */
export async function verify(
  pool: pg.Pool,
  log: ReadonlyMap<number, readonly LogEntry[]>,
  settings: ChaosSettings,
  options: VerifyOptions = {},
): Promise<Verdict> {
  const forged = options.forged ?? new Set<string>();
  // The reference's settings: gap, bound and lateness (it is never given a tick).
  const engine: EngineConfig = {
    gapMs: settings.gapMs,
    outOfOrdernessMs: settings.outOfOrdernessMs,
    allowedLatenessMs: settings.allowedLatenessMs,
    idleFlush: true,
  };
  const expectedRows = new Map<string, Row>();
  const expectedSessions = new Map<
    string,
    { userId: string; start: number; last: number; end: number; count: number }
  >();
  const expectedLate = new Set<string>();
  const expectedBad = new Set<string>();
  let records = 0;
  let ticks = 0;
  let forgedTicks = 0;
  let ticksMidStream = 0;
  let eventsBehindTicks = 0;
  let events = 0;
  let expectedCounted = 0;
  const keyPartitions = new Map<string, number>();
  const splitKeys: string[] = [];
  for (const [partition, list] of log) {
    records += list.length;
    const partitionEvents: { offset: number; userId: string; eventTime: number; timestamp: number }[] = [];
    // Ticks (not forged) not yet followed by a record, and the newest tick's timestamp so far.
    let openTicks = 0;
    let newestTick = Number.NEGATIVE_INFINITY;
    for (const entry of list) {
      const expectation = classify(entry, settings);
      if (expectation.kind === 'control') continue;
      if (expectation.kind === 'tick') {
        ticks++;
        if (forged.has(`${partition}:${entry.offset}`)) {
          forgedTicks++;
          continue;
        }
        openTicks++;
        newestTick = Math.max(newestTick, Number(entry.timestamp));
        continue;
      }
      ticksMidStream += openTicks;
      openTicks = 0;
      if (expectation.kind === 'reject') {
        expectedBad.add(`${partition}:${entry.offset}:${expectation.reason}`);
        continue;
      }
      if (expectation.timestamp < newestTick) eventsBehindTicks++;
      events++;
      partitionEvents.push({ offset: entry.offset, ...expectation });
    }
    const reference = referenceSessions(engine, partitionEvents, { flushTo: Number.POSITIVE_INFINITY });
    for (const [key, row] of reference.rows) {
      const other = keyPartitions.get(key);
      if (other !== undefined) splitKeys.push(`${key} in partitions ${other} and ${partition}`);
      keyPartitions.set(key, partition);
      expectedRows.set(key, row);
      expectedCounted += row.count;
    }
    for (const [key, s] of reference.sessions) expectedSessions.set(key, s);
    for (const offset of reference.lateOffsets) expectedLate.add(`${partition}:${offset}`);
  }

  const actualRows = new Map<string, Row>(
    (
      await pool.query(
        `SELECT group_key, count_value::int AS count,
                (extract(epoch FROM window_end_time) * 1000)::bigint AS end FROM aggregated_counts`,
      )
    ).rows.map((r) => [r.group_key as string, { count: r.count as number, end: Number(r.end) }]),
  );
  const examples: string[] = [];
  const note = (text: string) => {
    if (examples.length < 10) examples.push(text);
  };
  for (const split of splitKeys) note(`one session key in two partitions: ${split}`);
  let lost = 0;
  let over = 0;
  let under = 0;
  let counted = 0;
  for (const row of actualRows.values()) counted += row.count;
  for (const [key, want] of expectedRows) {
    const got = actualRows.get(key);
    if (got === undefined) {
      lost++;
      note(`lost ${key} (${want.count})`);
    } else if (got.count > want.count || (got.count === want.count && got.end !== want.end)) {
      over++;
      note(`over ${key}: ${got.count} for ${want.count}`);
    } else if (got.count < want.count) {
      under++;
      note(`under ${key}: ${got.count} for ${want.count}`);
    }
  }
  let extra = 0;
  let extraInsideSessions = 0;
  for (const key of actualRows.keys()) {
    if (expectedRows.has(key)) continue;
    extra++;
    note(`extra ${key}`);
    const bar = key.lastIndexOf('|');
    const userId = key.slice(0, bar);
    const start = Date.parse(key.slice(bar + 1));
    for (const s of expectedSessions.values()) {
      if (s.userId === userId && s.start <= start && start < s.end && referenceKey(userId, start) === key) {
        extraInsideSessions++;
        break;
      }
    }
  }

  const actualSessions = new Map(
    (
      await pool.query(
        `SELECT group_key, (extract(epoch FROM session_start) * 1000)::bigint AS start,
                (extract(epoch FROM last_event_time) * 1000)::bigint AS last,
                (extract(epoch FROM window_end_time) * 1000)::bigint AS end, event_count::int AS count,
                duration_ms::bigint AS duration FROM user_sessions`,
      )
    ).rows.map((r) => [
      r.group_key as string,
      {
        start: Number(r.start),
        last: Number(r.last),
        end: Number(r.end),
        count: r.count,
        duration: Number(r.duration),
      },
    ]),
  );
  let sessionRowsWrong = 0;
  for (const [key, want] of expectedSessions) {
    const got = actualSessions.get(key);
    const same =
      got !== undefined &&
      got.start === want.start &&
      got.last === want.last &&
      got.end === want.end &&
      got.count === want.count &&
      got.duration === want.last - want.start;
    if (!same) {
      sessionRowsWrong++;
      note(`user_sessions ${key}: ${JSON.stringify(got)} for ${JSON.stringify(want)}`);
    }
  }
  for (const key of actualSessions.keys()) if (!expectedSessions.has(key)) sessionRowsWrong++;

  const rejected = (
    await pool.query('SELECT kafka_partition AS p, kafka_offset::bigint AS o, reason FROM rejected_events')
  ).rows as { p: number; o: string; reason: string }[];
  const actualLate = new Set<string>();
  const actualBad = new Set<string>();
  for (const r of rejected) {
    if (r.reason === 'late') actualLate.add(`${r.p}:${r.o}`);
    else actualBad.add(`${r.p}:${r.o}:${r.reason}`);
  }
  let wronglyLate = 0;
  for (const key of actualLate) {
    if (!expectedLate.has(key)) {
      wronglyLate++;
      note(`wrongly late ${key}`);
    }
  }
  let missedLate = 0;
  for (const key of expectedLate) {
    if (!actualLate.has(key)) {
      missedLate++;
      note(`missed late ${key}`);
    }
  }
  let rejectsWrong = 0;
  for (const key of expectedBad) {
    if (!actualBad.has(key)) {
      rejectsWrong++;
      note(`not rejected as expected ${key}`);
    }
  }
  for (const key of actualBad) {
    if (!expectedBad.has(key)) {
      rejectsWrong++;
      note(`rejected unexpectedly ${key}`);
    }
  }

  return {
    records,
    ticks,
    forgedTicks,
    ticksMidStream,
    eventsBehindTicks,
    events,
    expectedCounted,
    counted,
    sessions: expectedRows.size,
    lost,
    overCounted: over,
    underCounted: under,
    extra,
    extraInsideSessions,
    sessionRowsWrong,
    wronglyLate,
    missedLate,
    rejectsWrong,
    keysInTwoPartitions: splitKeys.length,
    examples,
  };
}
