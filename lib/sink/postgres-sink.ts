import type pg from 'pg';
import {
  CheckpointConflictError,
  SessionizerError,
  SinkRejectedError,
  SinkUnavailableError,
} from '../errors.ts';
import { sessionRows, utcTimestamp } from './rows.ts';
import type { Sink, SinkBatch, SinkFence, SinkResult } from './types.ts';

/*
 * One statement per kind of row and table, with array parameters and unnest: the protocol allows
 * 65,535 bind parameters, so one parameter per value would cap a batch; a few arrays never do.
 *
 * The update is guarded so a replay (or a zombie invocation) never replaces a newer result with
 * an older one: for one group_key a later emission always has a later end, or the same end and
 * a larger count (see docs/STATE.md), so (window_end_time, count_value) only grows.
 */
const UPSERT_SESSIONS = `
  INSERT INTO aggregated_counts (group_key, count_value, window_end_time)
  SELECT * FROM unnest($1::varchar[], $2::bigint[], $3::timestamp[])
  ON CONFLICT (group_key) DO UPDATE
     SET count_value = EXCLUDED.count_value, window_end_time = EXCLUDED.window_end_time
   WHERE aggregated_counts.window_end_time IS NULL
      OR aggregated_counts.count_value IS NULL
      OR (aggregated_counts.window_end_time, aggregated_counts.count_value)
         < (EXCLUDED.window_end_time, EXCLUDED.count_value)`;

/*
 * The same sessions with their times (DESIGN.md section 1: the duration), under the same key and
 * the same guard, in the same transaction. Times arrive as zone-less UTC literals, like
 * aggregated_counts', and become TIMESTAMPTZ here; duration_ms is a generated column. The topic
 * and partition are the transaction's own (the fence's), scalar parameters.
 */
const UPSERT_USER_SESSIONS = `
  INSERT INTO user_sessions AS s
    (group_key, user_id, session_start, last_event_time, window_end_time, event_count, topic, kafka_partition)
  SELECT r.group_key, r.user_id, r.session_start AT TIME ZONE 'UTC', r.last_event_time AT TIME ZONE 'UTC',
         r.window_end_time AT TIME ZONE 'UTC', r.event_count, $7::varchar, $8::int
    FROM unnest($1::varchar[], $2::varchar[], $3::timestamp[], $4::timestamp[], $5::timestamp[], $6::bigint[])
         AS r(group_key, user_id, session_start, last_event_time, window_end_time, event_count)
  ON CONFLICT (group_key) DO UPDATE
     SET last_event_time = EXCLUDED.last_event_time, window_end_time = EXCLUDED.window_end_time,
         event_count = EXCLUDED.event_count, topic = EXCLUDED.topic, kafka_partition = EXCLUDED.kafka_partition
   WHERE (s.window_end_time, s.event_count) < (EXCLUDED.window_end_time, EXCLUDED.event_count)`;

// Takes the partition's fence row lock for the transaction and refuses an older epoch.
const FENCE = `
  INSERT INTO sink_fences (topic, kafka_partition, epoch) VALUES ($1, $2, $3)
  ON CONFLICT (topic, kafka_partition) DO UPDATE SET epoch = EXCLUDED.epoch
   WHERE sink_fences.epoch <= EXCLUDED.epoch
  RETURNING epoch`;

const DELETE_SUPERSEDED = 'DELETE FROM aggregated_counts WHERE group_key = ANY($1::varchar[])';
const DELETE_SUPERSEDED_USER_SESSIONS = 'DELETE FROM user_sessions WHERE group_key = ANY($1::varchar[])';

const INSERT_REJECTIONS = `
  INSERT INTO rejected_events
    (topic, kafka_partition, kafka_offset, kafka_timestamp, raw_value, raw_encoding, reason, detail)
  SELECT * FROM unnest($1::varchar[], $2::int[], $3::bigint[], $4::timestamp[], $5::text[], $6::varchar[],
                       $7::varchar[], $8::text[])
  ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING`;

/** A SQLSTATE (class + 3), as opposed to a Node network error code like ECONNREFUSED or EPIPE. */
const SQLSTATE = /^([0-9]{2}|F0|HV|P0|XX)[0-9A-Z]{3}$/;
/** SQLSTATE classes that retrying can fix: connection, resources, lock conflicts, shutdown. */
const RETRYABLE_SQLSTATE = /^(08|53|57|40|55P03|58)/;

export class PostgresSink implements Sink {
  /** A pool, or one still being built (the database secret is read at the first write). */
  constructor(private readonly pool: pg.Pool | (() => Promise<pg.Pool>)) {}

  async write(batch: SinkBatch, fence: SinkFence): Promise<SinkResult> {
    const { upserts, deletes } = sessionRows(batch);
    const rejections = dedupeRejections(batch);
    if (upserts.keys.length === 0 && deletes.length === 0 && rejections.length === 0) {
      return { upserted: 0, deleted: 0, rejected: 0, statements: 0 };
    }
    let client: pg.PoolClient;
    try {
      const pool = typeof this.pool === 'function' ? await this.pool() : this.pool;
      client = await pool.connect();
    } catch (error) {
      if (error instanceof SessionizerError) throw error;
      throw new SinkUnavailableError(`Cannot connect to PostgreSQL: ${(error as Error).message}`, error);
    }
    let statements = 0;
    let released = false;
    try {
      await client.query('BEGIN');
      const fenced = await client.query(FENCE, [fence.topic, fence.partition, fence.epoch]);
      if (fenced.rowCount === 0) {
        throw new CheckpointConflictError(
          `Sink write of ${fence.topic}-${fence.partition} with claim epoch ${fence.epoch} is stale: a newer claim wrote`,
        );
      }
      let deleted = 0;
      if (deletes.length > 0) {
        deleted = (await client.query(DELETE_SUPERSEDED, [deletes])).rowCount ?? 0;
        await client.query(DELETE_SUPERSEDED_USER_SESSIONS, [deletes]);
        statements += 2;
      }
      if (upserts.keys.length > 0) {
        await client.query(UPSERT_SESSIONS, [upserts.keys, upserts.counts, upserts.ends]);
        await client.query(UPSERT_USER_SESSIONS, [
          upserts.keys,
          upserts.userIds,
          upserts.starts,
          upserts.lasts,
          upserts.ends,
          upserts.counts,
          fence.topic,
          fence.partition,
        ]);
        statements += 2;
      }
      if (rejections.length > 0) {
        await client.query(INSERT_REJECTIONS, [
          rejections.map((r) => r.topic),
          rejections.map((r) => r.partition),
          rejections.map((r) => String(r.offset)),
          rejections.map((r) => (Number.isFinite(r.kafkaTimestamp) ? utcTimestamp(r.kafkaTimestamp) : null)),
          rejections.map((r) => r.rawValue),
          rejections.map((r) => r.rawEncoding),
          rejections.map((r) => r.reason),
          rejections.map((r) => r.detail),
        ]);
        statements++;
      }
      await client.query('COMMIT');
      // + BEGIN, fence, COMMIT
      return {
        upserted: upserts.keys.length,
        deleted,
        rejected: rejections.length,
        statements: statements + 3,
      };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      // A connection that failed mid-transaction must not go back to the pool.
      client.release(error as Error);
      released = true;
      throw mapPgError(error);
    } finally {
      if (!released) client.release();
    }
  }
}

function dedupeRejections(batch: SinkBatch): SinkBatch['rejections'] {
  const seen = new Set<string>();
  return batch.rejections.filter((r) => {
    const key = `${r.topic}\u0000${r.partition}\u0000${r.offset}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function mapPgError(error: unknown): Error {
  if (error instanceof CheckpointConflictError) return error;
  const code = (error as { code?: unknown }).code;
  const message = (error as Error).message ?? String(error);
  if (typeof code === 'string' && SQLSTATE.test(code) && !RETRYABLE_SQLSTATE.test(code)) {
    return new SinkRejectedError(`PostgreSQL refused the write (${code}): ${message}`, error);
  }
  return new SinkUnavailableError(`PostgreSQL write failed: ${message}`, error);
}
