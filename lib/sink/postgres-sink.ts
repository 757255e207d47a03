import type pg from 'pg';
import {
  SessionizerError,
  SinkDataError,
  SinkFencedError,
  SinkRejectedError,
  SinkUnavailableError,
} from '../errors.ts';
import type { ConnectionSource } from './database-pool.ts';
import { sessionRows } from './rows.ts';
import type { Sink, SinkBatch, SinkFence, SinkResult, WriteOptions } from './types.ts';

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
  SELECT r.group_key, r.count_value, epoch_ms_to_utc(r.end_ms)
    FROM unnest($1::varchar[], $2::bigint[], $3::bigint[]) AS r(group_key, count_value, end_ms)
  ON CONFLICT (group_key) DO UPDATE
     SET count_value = EXCLUDED.count_value, window_end_time = EXCLUDED.window_end_time
   WHERE aggregated_counts.window_end_time IS NULL
      OR aggregated_counts.count_value IS NULL
      OR (aggregated_counts.window_end_time, aggregated_counts.count_value)
         < (EXCLUDED.window_end_time, EXCLUDED.count_value)`;

/*
 * The same sessions with their times (docs/DESIGN.md section 1: the duration), under the same key and
 * the same guard, in the same transaction. Times arrive as epoch milliseconds and become
 * TIMESTAMPTZ here; duration_ms is a generated column. The topic and partition are the
 * transaction's own (the fence's), scalar parameters.
 */
const UPSERT_USER_SESSIONS = `
  INSERT INTO user_sessions AS s
    (group_key, user_id, session_start, last_event_time, window_end_time, event_count, topic, kafka_partition)
  SELECT r.group_key, r.user_id, epoch_ms_to_utc(r.start_ms) AT TIME ZONE 'UTC',
         epoch_ms_to_utc(r.last_ms) AT TIME ZONE 'UTC', epoch_ms_to_utc(r.end_ms) AT TIME ZONE 'UTC',
         r.event_count, $7::varchar, $8::int
    FROM unnest($1::varchar[], $2::varchar[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
         AS r(group_key, user_id, start_ms, last_ms, end_ms, event_count)
  ON CONFLICT (group_key) DO UPDATE
     SET last_event_time = EXCLUDED.last_event_time, window_end_time = EXCLUDED.window_end_time,
         event_count = EXCLUDED.event_count, topic = EXCLUDED.topic, kafka_partition = EXCLUDED.kafka_partition
   WHERE (s.window_end_time, s.event_count) < (EXCLUDED.window_end_time, EXCLUDED.event_count)`;

/*
 * Takes the partition's fence row lock for the transaction (ON CONFLICT locks the row even when its
 * WHERE refuses the update) and accepts only a newer generation, or the same one with a higher epoch
 * (docs/STATE.md section 5). Generations are "<ISO time>/<random>": compared byte-wise (COLLATE "C"),
 * a later one sorts later whatever the database's collation.
 */
const FENCE = `
  INSERT INTO sink_fences (topic, kafka_partition, generation, epoch, records_watermark, allowed_lateness_ms)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (topic, kafka_partition) DO UPDATE
     SET generation = EXCLUDED.generation, epoch = EXCLUDED.epoch,
         records_watermark = EXCLUDED.records_watermark, allowed_lateness_ms = EXCLUDED.allowed_lateness_ms
   WHERE sink_fences.generation COLLATE "C" < EXCLUDED.generation COLLATE "C"
      OR (sink_fences.generation = EXCLUDED.generation AND sink_fences.epoch < EXCLUDED.epoch)
  RETURNING epoch`;

const READ_FENCE = 'SELECT generation, epoch FROM sink_fences WHERE topic = $1 AND kafka_partition = $2';

const FENCE_GENERATIONS = 'SELECT DISTINCT generation FROM sink_fences WHERE topic = $1';

const DELETE_SUPERSEDED = 'DELETE FROM aggregated_counts WHERE group_key = ANY($1::varchar[])';
const DELETE_SUPERSEDED_USER_SESSIONS = 'DELETE FROM user_sessions WHERE group_key = ANY($1::varchar[])';

/** 294276-12-31T23:59:59.999Z, the last millisecond a PostgreSQL TIMESTAMP holds. */
const MAX_TIMESTAMP_MS = '9224318015999999';

/*
 * The Kafka timestamp arrives as epoch milliseconds, kept as it is in kafka_timestamp_ms and as a
 * TIMESTAMP where it has one: brokers accept any long, and a record stamped beyond what a
 * TIMESTAMP (or a JavaScript Date) holds must still be diverted, not stall its partition.
 */
const INSERT_REJECTIONS = `
  INSERT INTO rejected_events
    (topic, kafka_partition, kafka_offset, kafka_timestamp_ms, kafka_timestamp, raw_value, raw_encoding,
     reason, detail)
  SELECT r.topic, r.kafka_partition, r.kafka_offset, r.ts_ms,
         CASE WHEN r.ts_ms BETWEEN 0 AND ${MAX_TIMESTAMP_MS} THEN epoch_ms_to_utc(r.ts_ms) END,
         r.raw_value, r.raw_encoding, r.reason, r.detail
    FROM unnest($1::varchar[], $2::int[], $3::bigint[], $4::bigint[], $5::text[], $6::varchar[],
                $7::varchar[], $8::text[])
         AS r(topic, kafka_partition, kafka_offset, ts_ms, raw_value, raw_encoding, reason, detail)
  ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING`;

/**
 * A SQLSTATE: five characters, the class first (00-5x with letters too, like 0A or 3D, then F0, HV,
 * P0, XX), as opposed to a Node network error code like ECONNREFUSED or EPIPE (no class starts with E).
 */
const SQLSTATE = /^[0-9FHPX][0-9A-Z]{4}$/;
/** SQLSTATE classes that retrying can fix: connection, resources, lock conflicts, shutdown. */
const RETRYABLE_SQLSTATE = /^(08|53|57|40|55P03|58)/;
/** SQLSTATE classes that the data caused: data exceptions, integrity violations, program limits. */
const DATA_SQLSTATE = /^(22|23|54)/;

export class PostgresSink implements Sink {
  /** A pool, or one still being built (the database secret is read at the first write). */
  constructor(private readonly pool: ConnectionSource | (() => Promise<ConnectionSource>)) {}

  async fenceGenerations(topic: string): Promise<string[]> {
    return this.withClient(async (client) => {
      const { rows } = await client.query(FENCE_GENERATIONS, [topic]);
      return rows.map((r) => r.generation as string);
    });
  }

  async write(batch: SinkBatch, fence: SinkFence, options: WriteOptions = {}): Promise<SinkResult> {
    let rows: ReturnType<typeof sessionRows>;
    let rejections: RejectionRows;
    try {
      rows = sessionRows(batch);
      rejections = rejectionRows(batch);
    } catch (error) {
      throw encodeError(error);
    }
    const { upserts, deletes } = rows;
    return this.withClient(async (client) => {
      let statements = 0;
      await client.query('BEGIN');
      const fenced = await client.query(FENCE, [
        fence.topic,
        fence.partition,
        fence.generation,
        fence.epoch,
        fence.watermark,
        fence.allowedLatenessMs,
      ]);
      if (fenced.rowCount === 0) {
        const { rows } = await client.query(READ_FENCE, [fence.topic, fence.partition]);
        const row = rows[0] as { generation: string; epoch: string };
        throw new SinkFencedError(
          `Sink write of ${fence.topic}-${fence.partition} (generation ${fence.generation}, epoch ` +
            `${fence.epoch}) refused: PostgreSQL was last written by generation ${row.generation}, epoch ${row.epoch}`,
          row.generation,
          Number(row.epoch),
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
      if (rejections.topics.length > 0) {
        await client.query(INSERT_REJECTIONS, [
          rejections.topics,
          rejections.partitions,
          rejections.offsets,
          rejections.timestamps,
          rejections.rawValues,
          rejections.rawEncodings,
          rejections.reasons,
          rejections.details,
        ]);
        statements++;
      }
      // A dry run (lib/pipeline/isolate.ts) only asks whether PostgreSQL would take the batch.
      await client.query(options.dryRun === true ? 'ROLLBACK' : 'COMMIT');
      // + BEGIN, fence, COMMIT
      return {
        upserted: upserts.keys.length,
        deleted,
        rejected: rejections.topics.length,
        statements: statements + 3,
      };
    });
  }

  /**
   * Runs `work` on a pooled connection. While the connection is ours it has an 'error' listener: a
   * connection that dies while checked out (a network partition ending in a reset, a server
   * restart) emits 'error', which without a listener would crash the process; the query in flight
   * fails anyway and is reported from here. A connection whose work failed is destroyed, not
   * returned to the pool, after a ROLLBACK attempt (bounded by the pool's query timeout).
   */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      const pool = typeof this.pool === 'function' ? await this.pool() : this.pool;
      client = await pool.connect();
    } catch (error) {
      if (error instanceof SessionizerError) throw error;
      throw new SinkUnavailableError(`Cannot connect to PostgreSQL: ${(error as Error).message}`, error);
    }
    let lost: Error | undefined;
    const onError = (error: Error) => {
      lost = error;
    };
    client.on('error', onError);
    try {
      const result = await work(client);
      client.removeListener('error', onError);
      client.release(lost);
      return result;
    } catch (error) {
      if (lost === undefined) await client.query('ROLLBACK').catch(() => undefined);
      client.removeListener('error', onError);
      client.release(error as Error);
      throw mapPgError(error);
    }
  }
}

/** The rejections as one statement's array parameters, one per record (the first of an offset). */
interface RejectionRows {
  readonly topics: string[];
  readonly partitions: number[];
  readonly offsets: string[];
  readonly timestamps: (string | null)[];
  readonly rawValues: string[];
  readonly rawEncodings: string[];
  readonly reasons: string[];
  readonly details: string[];
}

function rejectionRows(batch: SinkBatch): RejectionRows {
  const rows: RejectionRows = {
    topics: [],
    partitions: [],
    offsets: [],
    timestamps: [],
    rawValues: [],
    rawEncodings: [],
    reasons: [],
    details: [],
  };
  const seen = new Set<string>();
  for (const r of batch.rejections) {
    const key = `${r.topic}\u0000${r.partition}\u0000${r.offset}`;
    if (seen.has(key)) continue;
    seen.add(key);
    rows.topics.push(r.topic);
    rows.partitions.push(r.partition);
    rows.offsets.push(String(r.offset));
    // Any long a broker accepted: kept as text, so no double rounds it; none beyond 2^53 is exact.
    rows.timestamps.push(Number.isSafeInteger(r.kafkaTimestamp) ? String(r.kafkaTimestamp) : null);
    rows.rawValues.push(r.rawValue);
    rows.rawEncodings.push(r.rawEncoding);
    rows.reasons.push(r.reason);
    rows.details.push(r.detail);
  }
  return rows;
}

export function mapPgError(error: unknown): Error {
  if (error instanceof SessionizerError) return error;
  const code = (error as { code?: unknown }).code;
  const message = (error as Error).message ?? String(error);
  if (typeof code === 'string' && SQLSTATE.test(code) && DATA_SQLSTATE.test(code)) {
    return new SinkDataError(`PostgreSQL refused the data (${code}): ${message}`, error);
  }
  if (typeof code === 'string' && SQLSTATE.test(code) && !RETRYABLE_SQLSTATE.test(code)) {
    return new SinkRejectedError(`PostgreSQL refused the write (${code}): ${message}`, error);
  }
  return new SinkUnavailableError(`PostgreSQL write failed: ${message}`, error);
}

/** Building a statement's parameters threw: the batch holds a value the sink cannot encode. */
function encodeError(error: unknown): Error {
  if (error instanceof RangeError || error instanceof TypeError) {
    return new SinkDataError(`The sink cannot encode the batch: ${error.message}`, error);
  }
  return error as Error;
}
