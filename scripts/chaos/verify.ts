/**
 * The judge of every experiment: read the topic back from Kafka (every record, ticks included, with
 * its offset, timestamp and headers), fold each partition's log with the test reference (a naive
 * Flink WindowOperator plus the idle rule, test/helpers/reference.ts, written without the engine),
 * and compare every row of aggregated_counts and user_sessions and every rejection with what the job
 * wrote to PostgreSQL.
 */
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { KafkaRecord } from '../../lib/decode/index.ts';
import type { EngineConfig } from '../../lib/engine/index.ts';
import { parseBatch, parseOptions } from '../../lib/pipeline/index.ts';
import { toKafkaRecord } from '../../offline/event.ts';
import { referenceSessions } from '../../reference/sessions.ts';

export interface Verdict {
  /** Records in the log (ticks included), events among them, sessions expected. */
  readonly records: number;
  readonly ticks: number;
  readonly sessions: number;
  /** Sessions with no row. */
  readonly lost: number;
  /** Rows with a higher or lower count (or another end) than the reference's. */
  readonly overCounted: number;
  readonly underCounted: number;
  /** Rows the reference does not have. */
  readonly extra: number;
  /** user_sessions rows that differ from the reference's (times, duration, count), or miss or are extra. */
  readonly sessionRowsWrong: number;
  /** Records rejected as late that are not late, and late records not rejected (or rejected otherwise). */
  readonly wronglyLate: number;
  readonly missedLate: number;
  /** Bad records not rejected, and rejections of records that are not bad. */
  readonly rejectsWrong: number;
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
      verdict.rejectsWrong ===
    0
  );
}

export function describeVerdict(v: Verdict): string {
  return (
    `${v.records} records (${v.ticks} idle ticks), ${v.sessions} sessions: lost ${v.lost}, ` +
    `over-counted ${v.overCounted}, under-counted ${v.underCounted}, extra ${v.extra}, ` +
    `user_sessions wrong ${v.sessionRowsWrong}, wrongly late ${v.wronglyLate}, missed late ${v.missedLate}, ` +
    `other rejects wrong ${v.rejectsWrong}`
  );
}

/** Every record of the topic, per partition, up to the log end as it is now. */
export async function readTopic(kafka: Kafka, topic: string): Promise<Map<number, KafkaRecord[]>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const byPartition = new Map<number, KafkaRecord[]>();
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
          const list = byPartition.get(batch.partition) as KafkaRecord[];
          for (const message of batch.messages) {
            if (Number(message.offset) < end) list.push(toKafkaRecord(batch.topic, batch.partition, message));
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

/** Compares what PostgreSQL holds (in `pool`'s schema) with the reference fold of `log`. */
export async function verify(
  pool: pg.Pool,
  log: ReadonlyMap<number, readonly KafkaRecord[]>,
  engine: EngineConfig,
): Promise<Verdict> {
  const options = parseOptions({ engine, eventTimeSource: 'payload', stateTtlDays: 30, journalMax: 32 });
  const expectedRows = new Map<string, Row>();
  const expectedSessions = new Map<string, { start: number; last: number; end: number; count: number }>();
  const expectedLate = new Set<string>();
  const expectedBad = new Set<string>();
  let records = 0;
  let ticks = 0;
  for (const [partition, list] of log) {
    records += list.length;
    const parsed = parseBatch(list, options);
    ticks += parsed.ticks;
    for (const r of parsed.rejections) expectedBad.add(`${partition}:${r.offset}:${r.reason}`);
    // Ticks decide when rows appear, never what they hold: the rows once the job is quiescent are
    // those of the records alone with an end-of-stream flush (docs/DESIGN.md section 4).
    const reference = referenceSessions(engine, parsed.log, { flushTo: Number.POSITIVE_INFINITY });
    for (const [key, row] of reference.rows) expectedRows.set(key, row);
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
  let lost = 0;
  let over = 0;
  let under = 0;
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
  for (const key of actualRows.keys()) {
    if (!expectedRows.has(key)) {
      extra++;
      note(`extra ${key}`);
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
  for (const key of expectedBad) if (!actualBad.has(key)) rejectsWrong++;
  for (const key of actualBad) if (!expectedBad.has(key)) rejectsWrong++;

  return {
    records,
    ticks,
    sessions: expectedRows.size,
    lost,
    overCounted: over,
    underCounted: under,
    extra,
    sessionRowsWrong,
    wronglyLate,
    missedLate,
    rejectsWrong,
    examples,
  };
}
