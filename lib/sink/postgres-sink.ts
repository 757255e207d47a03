import type pg from 'pg';
import {
  SessionizerError,
  SinkDataError,
  SinkFencedError,
  SinkRejectedError,
  SinkUnavailableError,
} from '../errors.ts';
import { chunkBySize } from '../shared/index.ts';
import { int8Array, timestampArray, varcharArray } from './binary-array.ts';
import type { ConnectionSource } from './database-pool.ts';
import { type DeletedRows, type SessionRows, sessionRows } from './rows.ts';
import type { Sink, SinkBatch, SinkFence, SinkResult, WriteMode, WriteOptions } from './types.ts';

/**
 * Rows per statement. A batch of the event source (10,000 records at most) fits in one; an idle
 * tick that fires every open session, or a partition with many sessions kept by allowed lateness,
 * can fire far more, and is written in statements of this size inside its one transaction, so that
 * no statement comes near statement_timeout (DATABASE_QUERY_TIMEOUT_MS, 20 s by default: 10,000
 * rows take about 0.1-0.3 s here) and no parameter grows without bound.
 */
export const ROWS_PER_STATEMENT = 10_000;
/** And at most this many bytes of rejected records' raw values per statement (a value may be 1 MB). */
const BYTES_PER_STATEMENT = 16 * 1024 * 1024;
/**
 * After a write found rows already there (see write()), the partition's next writes go straight to
 * the upsert: a replay or a rewrite of provisional rows usually comes with more of the same.
 */
const UPSERTS_AFTER_CONFLICT = 16;

/** 294276-12-31T23:59:59.999Z, the last millisecond a PostgreSQL TIMESTAMP holds. */
const MAX_TIMESTAMP_MS = '9224318015999999';

/**
 * A write's statement: one chunk of each kind of row, both session tables fed by one CTE each, so
 * the array parameters are sent and parsed once. The first statement of a write also takes the
 * fence, and every row of it is conditional on the fence's verdict; a write that fits in one
 * statement (every batch of the event source does) is one statement in all: one round trip, one
 * transaction, one commit.
 *
 * The fence takes the partition's fence row lock (ON CONFLICT locks the row even when its WHERE
 * refuses the update) and accepts only a newer generation, or the same one with a higher epoch
 * (docs/STATE.md section 5). Generations are "<ISO time>/<random>": compared byte-wise (COLLATE
 * "C"), a later one sorts later whatever the database's collation. The other parts read the fence's
 * result before they produce a row, so the row lock is taken before anything is written, as when it
 * was a statement of its own; refused, the statement writes nothing.
 *
 * Then the rows of superseded sessions (docs/DESIGN.md section 3, rule 7), each table by its key:
 * group_key, and (user_id, session_start). They are never the keys of the rows written next to
 * them (lib/sink/rows.ts), so the deletes and the inserts of one statement touch different rows.
 *
 * Then the sessions. Times arrive as binary timestamp[] and timestamptz[] (microseconds since
 * 2000-01-01, lib/sink/binary-array.ts): PostgreSQL stores them as they come, with no conversion
 * per row. duration_ms is a generated column. Topic and partition are the fence's. Arrays, not a
 * parameter per value: the protocol allows 65,535 bind parameters; a few arrays never hit that.
 * Each insert reads the arrays with unnest() in its select list, which yields the rows one by one
 * in lockstep (the arrays have one length); unnest() in FROM, or a CTE both inserts read, would
 * first copy every row into a tuple store.
 * - 'insert' adds rows that are not there yet, with plain inserts: no ON CONFLICT, whose speculative
 *   insertion first searches the primary key for a conflict and then inserts into it again (a third
 *   of PostgreSQL's time in the sink, docs/BENCHMARKS.md). A row that is there already makes it
 *   fail with unique_violation, and the write is redone with 'upsert'.
 * - 'upsert' is guarded so a replay (or a zombie invocation) never replaces a newer result with an
 *   older one: for one group_key a later emission always has a later end, or the same end and a
 *   larger count (see docs/STATE.md), so (window_end_time, count_value) only grows.
 *
 * Then the rejected records. The Kafka timestamp arrives as epoch milliseconds, kept as it is in
 * kafka_timestamp_ms and as a TIMESTAMP where it has one: brokers accept any long, and a record
 * stamped beyond what a TIMESTAMP (or a JavaScript Date) holds must still be diverted, not stall its
 * partition. Keyed by the record's coordinates: a replay adds nothing.
 */
function writeStatement(mode: WriteMode, withFence: boolean): string {
  let n = 0;
  const p = (type: string) => `$${++n}::${type}`;
  const topic = p('varchar');
  const partition = p('int');
  const fence = withFence
    ? `fence AS (
    INSERT INTO sink_fences (topic, kafka_partition, generation, epoch, records_watermark, allowed_lateness_ms)
    VALUES (${topic}, ${partition}, ${p('varchar')}, ${p('bigint')}, ${p('bigint')}, ${p('bigint')})
    ON CONFLICT (topic, kafka_partition) DO UPDATE
       SET generation = EXCLUDED.generation, epoch = EXCLUDED.epoch,
           records_watermark = EXCLUDED.records_watermark, allowed_lateness_ms = EXCLUDED.allowed_lateness_ms
     WHERE sink_fences.generation COLLATE "C" < EXCLUDED.generation COLLATE "C"
        OR (sink_fences.generation = EXCLUDED.generation AND sink_fences.epoch < EXCLUDED.epoch)
    RETURNING epoch
  ), `
    : '';
  const accepted = withFence ? 'WHERE EXISTS (SELECT FROM fence)' : '';
  const deletes = `${p('varchar[]')}, ${p('varchar[]')}, ${p('timestamptz[]')}`;
  // The sessions' columns (SessionRows, in this order), each parameter read by both inserts.
  const [key, user, count, start, last, end] = [
    p('varchar[]'),
    p('varchar[]'),
    p('bigint[]'),
    p('timestamptz[]'),
    p('timestamptz[]'),
    p('timestamptz[]'),
  ];
  // aggregated_counts.window_end_time is a TIMESTAMP: the same microseconds, typed as one.
  const endLocal = p('timestamp[]');
  const counts =
    mode === 'insert'
      ? ''
      : `ON CONFLICT (group_key) DO UPDATE
       SET count_value = EXCLUDED.count_value, window_end_time = EXCLUDED.window_end_time
     WHERE c.window_end_time IS NULL OR c.count_value IS NULL
        OR (c.window_end_time, c.count_value) < (EXCLUDED.window_end_time, EXCLUDED.count_value)`;
  const sessions =
    mode === 'insert'
      ? ''
      : `ON CONFLICT (user_id, session_start) DO UPDATE
       SET last_event_time = EXCLUDED.last_event_time, window_end_time = EXCLUDED.window_end_time,
           event_count = EXCLUDED.event_count, topic = EXCLUDED.topic, kafka_partition = EXCLUDED.kafka_partition
     WHERE (s.window_end_time, s.event_count) < (EXCLUDED.window_end_time, EXCLUDED.event_count)`;
  return `
  WITH ${fence}d AS MATERIALIZED (
    SELECT * FROM unnest(${deletes}) AS d(group_key, user_id, session_start)
    ${accepted}
  ), deleted_counts AS (
    DELETE FROM aggregated_counts c USING d WHERE c.group_key = d.group_key RETURNING 1
  ), deleted_sessions AS (
    DELETE FROM user_sessions s USING d WHERE s.user_id = d.user_id AND s.session_start = d.session_start
  ), counts AS (
    INSERT INTO aggregated_counts AS c (group_key, count_value, window_end_time)
    SELECT unnest(${key}), unnest(${count}), unnest(${endLocal})
    ${accepted}
    ${counts}
  ), sessions AS (
    INSERT INTO user_sessions AS s
      (group_key, user_id, event_count, session_start, last_event_time, window_end_time, topic, kafka_partition)
    SELECT unnest(${key}), unnest(${user}), unnest(${count}), unnest(${start}), unnest(${last}), unnest(${end}),
           ${topic}, ${partition}
    ${accepted}
    ${sessions}
  ), rejected AS (
    INSERT INTO rejected_events
      (topic, kafka_partition, kafka_offset, kafka_timestamp_ms, kafka_timestamp, raw_value, raw_encoding,
       reason, detail)
    SELECT x.topic, x.kafka_partition, x.kafka_offset, x.ts_ms,
           CASE WHEN x.ts_ms BETWEEN 0 AND ${MAX_TIMESTAMP_MS} THEN epoch_ms_to_utc(x.ts_ms) END,
           x.raw_value, x.raw_encoding, x.reason, x.detail
      FROM unnest(${p('varchar[]')}, ${p('int[]')}, ${p('bigint[]')}, ${p('bigint[]')}, ${p('text[]')},
                  ${p('varchar[]')}, ${p('varchar[]')}, ${p('text[]')})
           AS x(topic, kafka_partition, kafka_offset, ts_ms, raw_value, raw_encoding, reason, detail)
     ${accepted}
    ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
  )
  SELECT ${withFence ? '(SELECT count(*) FROM fence)' : '1'}::int AS accepted,
         (SELECT count(*) FROM deleted_counts)::int AS deleted`;
}

/**
 * The four statements, each sent as a named prepared statement: PostgreSQL parses and plans the
 * CTE once per connection instead of for every batch (20-30 % of the sink's time at batches of 100
 * and 1,000 records, docs/BENCHMARKS.md, "The evening of 2026-12-02").
 */
const WRITE: Record<WriteMode, { first: string; next: string }> = {
  insert: { first: writeStatement('insert', true), next: writeStatement('insert', false) },
  upsert: { first: writeStatement('upsert', true), next: writeStatement('upsert', false) },
};

const READ_FENCE = 'SELECT generation, epoch FROM sink_fences WHERE topic = $1 AND kafka_partition = $2';

const FENCE_GENERATIONS = 'SELECT DISTINCT generation FROM sink_fences WHERE topic = $1';

/** SQLSTATE unique_violation: in the 'insert' mode, a row that is there already. */
const UNIQUE_VIOLATION = '23505';

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
  /** Per partition ("topic-partition"): how many more writes go straight to the upsert. */
  readonly #upsertFirst = new Map<string, number>();
  readonly #prepared: boolean;

  /**
   * A pool, or one still being built (the database secret is read at the first write). `prepared`
   * (default true): the write statements are named prepared statements, parsed and planned once per
   * connection (see WRITE); false sends them unnamed, parsed and planned for every batch, which a
   * connection pooler that multiplexes transactions needs (RDS Proxy pins a session that prepares).
   */
  constructor(
    private readonly pool: ConnectionSource | (() => Promise<ConnectionSource>),
    options: { readonly prepared?: boolean } = {},
  ) {
    this.#prepared = options.prepared ?? true;
  }

  async fenceGenerations(topic: string): Promise<string[]> {
    return this.withClient(async (client) => {
      const { rows } = await client.query(FENCE_GENERATIONS, [topic]);
      return rows.map((r) => r.generation as string);
    });
  }

  /**
   * One transaction: the fence, the rule-7 deletes, the sessions, the rejections, in statements of
   * at most ROWS_PER_STATEMENT rows of each kind; a batch that fits in one statement is that one
   * statement (a transaction of its own), a larger one or a dry run is wrapped in BEGIN and
   * COMMIT (or ROLLBACK). Rows are first written with plain inserts: on a stream that is read once,
   * with no allowed lateness and no idle flush, every session is new. When one is not (a replay
   * after a crash, a zombie's rows, a provisional row rewritten, a join within the allowed
   * lateness), unique_violation rolls the write back and it is written again with the guarded
   * upserts; nothing of the first attempt stays.
   */
  async write(batch: SinkBatch, fence: SinkFence, options: WriteOptions = {}): Promise<SinkResult> {
    let rows: ReturnType<typeof sessionRows>;
    let statements: Statements;
    try {
      rows = sessionRows(batch);
      statements = chunked(rows, rejectionRows(batch));
    } catch (error) {
      throw encodeError(error);
    }
    const label = `${fence.topic}-${fence.partition}`;
    return this.withClient(async (client) => {
      const sent = { statements: 0 };
      const upsertsLeft = this.#upsertFirst.get(label) ?? 0;
      if (upsertsLeft > 0) {
        this.#upsertFirst.set(label, upsertsLeft - 1);
      } else if (rows.upserts.keys.length > 0) {
        try {
          return await this.#write(client, 'insert', statements, fence, options, sent);
        } catch (error) {
          if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
          if (inTransaction(statements, options)) {
            await client.query('ROLLBACK');
            sent.statements++;
          }
          this.#upsertFirst.set(label, UPSERTS_AFTER_CONFLICT);
        }
      }
      return this.#write(client, 'upsert', statements, fence, options, sent);
    });
  }

  async #write(
    client: pg.PoolClient,
    mode: WriteMode,
    statements: Statements,
    fence: SinkFence,
    options: WriteOptions,
    sent: { statements: number },
  ): Promise<SinkResult> {
    const query = (text: string, values?: unknown[], name?: string) => {
      sent.statements++;
      return client.query(name === undefined ? { text, values } : { name, text, values });
    };
    const transaction = inTransaction(statements, options);
    if (transaction) await query('BEGIN');
    let deleted = 0;
    for (const [i, values] of statements.values.entries()) {
      const first = i === 0;
      const { rows } = await query(
        first ? WRITE[mode].first : WRITE[mode].next,
        [
          fence.topic,
          fence.partition,
          ...(first ? [fence.generation, fence.epoch, fence.watermark, fence.allowedLatenessMs] : []),
          ...values,
        ],
        this.#prepared ? `sessionizer_${mode}_${first ? 'first' : 'next'}` : undefined,
      );
      const result = rows[0] as { accepted: number; deleted: number };
      if (result.accepted === 0) {
        const { rows: last } = await client.query(READ_FENCE, [fence.topic, fence.partition]);
        const row = last[0] as { generation: string; epoch: string };
        throw new SinkFencedError(
          `Sink write of ${fence.topic}-${fence.partition} (generation ${fence.generation}, epoch ` +
            `${fence.epoch}) refused: PostgreSQL was last written by generation ${row.generation}, epoch ${row.epoch}`,
          row.generation,
          Number(row.epoch),
        );
      }
      deleted += result.deleted;
    }
    // A dry run (lib/pipeline/isolate.ts) only asks whether PostgreSQL would take the batch.
    if (transaction) await query(options.dryRun === true ? 'ROLLBACK' : 'COMMIT');
    return {
      upserted: statements.upserted,
      deleted,
      rejected: statements.rejected,
      statements: sent.statements,
      mode,
    };
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

/** A write's statements: the array parameters of each (deletes, sessions, rejections). */
interface Statements {
  readonly values: unknown[][];
  readonly upserted: number;
  readonly rejected: number;
}

/**
 * Cuts a batch's rows into statements: statement i carries chunk i of each kind (at most
 * ROWS_PER_STATEMENT rows, and rejections at most BYTES_PER_STATEMENT of raw values; a single larger
 * one still goes, alone). There is always a first statement: the fence is written even when the
 * batch has nothing else.
 */
function chunked(
  { upserts, deletes }: { upserts: SessionRows; deletes: DeletedRows },
  r: RejectionRows,
): Statements {
  const ranges = (length: number, bytes: (row: number) => number = () => 0): [number, number][] =>
    chunkBySize(
      Array.from({ length }, (_, i) => i),
      ROWS_PER_STATEMENT,
      BYTES_PER_STATEMENT,
      bytes,
    ).map((chunk) => [chunk[0] as number, (chunk[0] as number) + chunk.length]);
  // Session columns go in PostgreSQL's binary array format (binary-array.ts); the rejections' (rare,
  // with NULLs) as arrays, which node-postgres sends as text.
  const text = (column: readonly string[]) => (from: number, to: number) => varcharArray(column, from, to);
  const integers = (column: readonly number[]) => (from: number, to: number) => int8Array(column, from, to);
  const times = (column: readonly number[], zone: 'tz' | 'local') => (from: number, to: number) =>
    timestampArray(column, zone, from, to);
  const array = (column: readonly unknown[]) => (from: number, to: number) => column.slice(from, to);
  type Column = (from: number, to: number) => unknown;
  const kinds: [Column[], [number, number][]][] = [
    [[text(deletes.keys), text(deletes.userIds), times(deletes.starts, 'tz')], ranges(deletes.keys.length)],
    [
      [
        text(upserts.keys),
        text(upserts.userIds),
        integers(upserts.counts),
        times(upserts.starts, 'tz'),
        times(upserts.lasts, 'tz'),
        times(upserts.ends, 'tz'),
        times(upserts.ends, 'local'),
      ],
      ranges(upserts.keys.length),
    ],
    [
      [
        r.topics,
        r.partitions,
        r.offsets,
        r.timestamps,
        r.rawValues,
        r.rawEncodings,
        r.reasons,
        r.details,
      ].map(array),
      ranges(r.topics.length, (i) => (r.rawValues[i] as string).length + (r.details[i] as string).length),
    ],
  ];
  const count = Math.max(1, ...kinds.map(([, chunks]) => chunks.length));
  const values = Array.from({ length: count }, (_, i) =>
    kinds.flatMap(([columns, chunks]) => {
      const [from, to] = chunks[i] ?? [0, 0];
      return columns.map((column) => column(from, to));
    }),
  );
  return { values, upserted: upserts.keys.length, rejected: r.topics.length };
}

/** One statement is a transaction of its own; several, or a dry run, need BEGIN and COMMIT (or ROLLBACK). */
function inTransaction(statements: Statements, options: WriteOptions): boolean {
  return statements.values.length > 1 || options.dryRun === true;
}

/** Building a statement's parameters threw: the batch holds a value the sink cannot encode. */
function encodeError(error: unknown): Error {
  if (error instanceof RangeError || error instanceof TypeError) {
    return new SinkDataError(`The sink cannot encode the batch: ${error.message}`, error);
  }
  return error as Error;
}
