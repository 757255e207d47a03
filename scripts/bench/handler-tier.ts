/**
 * Tier 2, the handler: the Lambda handler's work (decode the MSK event, fold, DynamoDB Local
 * checkpoint, PostgreSQL sink) on one partition, one batch after the other as the event source
 * mapping delivers them, for each batch size. Building the events is not timed. Each size runs
 * twice: 'warm', one container for all batches (it keeps the partition's state in memory), and
 * 'cold', a new container for every batch (it reads the state back from DynamoDB each time).
 *
 * Then the sink alone: the run's sink writes replayed into empty tables with nothing beside them;
 * and the floor: a bare `unnest` upsert of the same rows, in the same chunks, into a table of the
 * same shape (no transaction, fence or guard): what PostgreSQL alone needs for those rows. The two
 * take a few hundred milliseconds each, about what a neighbour's burst moves them by on a shared
 * machine, so they run in SINK_ROUNDS rounds, one after the other in each round, and the medians
 * (and the median of the rounds' ratios) are reported.
 */
import pg from 'pg';
import type { KafkaRecord } from '../../lib/decode/index.ts';
import { createWarmState, handleKafkaEvent } from '../../lib/pipeline/index.ts';
import { migrate, PostgresSink, type SinkBatch, type SinkFence } from '../../lib/sink/index.ts';
import { buildKafkaEvent } from '../../offline/build-event.ts';
import { median } from './progress.ts';
import { childOptions, peakRssMb, progress, report, type TierRow } from './protocol.ts';
import { expectedRows, generate, partitionRecords } from './stream.ts';
import {
  compareRows,
  costPer1k,
  describeStoreTime,
  dropSchema,
  openWorkspace,
  schemaUrl,
  settings,
  settleDatabase,
  writtenRows,
} from './workspace.ts';

export interface HandlerTierOptions {
  readonly batchSizes: readonly number[];
  /** Events per batch size. */
  readonly events: Readonly<Record<string, number>>;
  readonly users: number;
  readonly seed: number;
}

export type Memory = 'warm' | 'cold';

export interface HandlerRun {
  readonly row: TierRow;
  readonly batchSize: number;
  readonly memory: Memory;
  readonly batches: number;
  readonly dynamodbMs: number;
  readonly postgresMs: number;
  readonly rows: number;
  readonly avgUsersPerBatch: number;
  readonly avgItemsWrittenPerBatch: number;
  /** Snapshots written (the rest of the image writes were deltas). */
  readonly snapshots: number;
  /**
   * The run's sink writes replayed in order into fresh tables, with nothing beside them: the sink's
   * own cost, measured as the floor is. postgresMs is the same writes in the handler, where each
   * shares the two cores and the event loop with the state image's DynamoDB write.
   */
  readonly sinkAloneMs: number;
  readonly floorMs: number;
  readonly floorStatements: number;
  /** sinkAloneMs / floorMs of each round (SINK_ROUNDS), in order; the ratio held against the target is their median. */
  readonly sinkOverFloor: readonly number[];
  /** Share of the DynamoDB time per store call. */
  readonly storeTime: string;
  /** Sink transactions that wrote sessions with plain inserts, and with the guarded upserts. */
  readonly insertWrites: number;
  readonly upsertWrites: number;
}

const options = childOptions<HandlerTierOptions>();
const TOPIC = 'bench_handler';
/** Rounds of (the sink alone, the floor): see the top of this file. */
const SINK_ROUNDS = 5;

const ARN = 'arn:aws:kafka:us-east-1:111122223333:cluster/bench/00000000-0000-0000-0000-000000000000-1';

async function run(batchSize: number, events: number, memory: Memory): Promise<HandlerRun> {
  const stream = generate({ events, users: options.users, partitions: 1, seed: options.seed });
  const records = partitionRecords(stream, 0);
  const expected = expectedRows(stream, 1);
  // Every sink write of the run, in order, to be replayed alone (sinkAlone).
  const writes: [SinkBatch, SinkFence][] = [];
  const ws = await openWorkspace(`handler_${batchSize}_${memory}`, (batch, fence) =>
    writes.push([batch, fence]),
  );
  const chunkRows: number[] = [];
  try {
    const stats = ws.deps.store.stats;
    const before = { ...stats };
    let wall = 0;
    let dynamodbMs = 0;
    let postgresMs = 0;
    let users = 0;
    let snapshots = 0;
    for (let i = 0; i < records.length; i += batchSize) {
      const slice = records.slice(i, i + batchSize).map(
        (r): KafkaRecord => ({
          topic: TOPIC,
          partition: 0,
          offset: r.offset,
          timestamp: r.eventTime,
          timestampType: 'CREATE_TIME',
          key: Buffer.from(r.userId),
          value: Buffer.from(`${r.userId},${r.eventTime}`),
          headers: [],
        }),
      );
      const event = buildKafkaEvent({
        eventSource: 'aws:kafka',
        eventSourceArn: ARN,
        bootstrapServers: ['b-1.bench:9098'],
        records: slice,
      });
      const upserted = ws.sink.upserted;
      // A cold container: nothing in memory, not even the table's generation.
      const deps = memory === 'warm' ? ws.deps : { ...ws.deps, warm: createWarmState() };
      const started = performance.now();
      const [outcome] = await handleKafkaEvent(deps, event);
      wall += performance.now() - started;
      if (outcome === undefined) throw new Error('handler returned no partition outcome');
      dynamodbMs += outcome.dynamodbMs;
      postgresMs += outcome.postgresMs;
      users += outcome.usersTouched;
      if (outcome.image === 'snapshot') snapshots++;
      chunkRows.push(ws.sink.upserted - upserted);
      progress(
        `handler: batch ${batchSize.toLocaleString('en-US')}, ${memory}`,
        i + slice.length,
        records.length,
      );
    }
    const rowsWritten = await writtenRows(ws.pool);
    const problems = compareRows(rowsWritten, expected);
    if (problems.length > 0) throw new Error(`handler tier, batch ${batchSize}: ${problems.join('; ')}`);

    const alone: number[] = [];
    const floors: { ms: number; statements: number }[] = [];
    const written = [...rowsWritten.entries()];
    for (let round = 0; memory === 'warm' && round < SINK_ROUNDS; round++) {
      alone.push(await sinkAlone(`${ws.schema}_alone${round}`, writes, expected));
      floors.push(await floorUpsert(ws.pool, round, written, chunkRows));
    }
    const batches = Math.ceil(records.length / batchSize);
    const cost = costPer1k(before, stats, records.length, ws.sink.statements);
    return {
      row: {
        tier: 'handler',
        detail: `batch ${batchSize.toLocaleString('en-US')}, ${memory}`,
        events: records.length,
        seconds: wall / 1000,
        eventsPerSecond: records.length / (wall / 1000),
        costPer1k: cost,
        peakRssMb: peakRssMb(),
      },
      batchSize,
      memory,
      batches,
      dynamodbMs,
      postgresMs,
      rows: expected.size,
      avgUsersPerBatch: users / batches,
      avgItemsWrittenPerBatch: (stats.itemsWritten - before.itemsWritten) / batches,
      snapshots,
      sinkAloneMs: alone.length > 0 ? median(alone) : 0,
      floorMs: floors.length > 0 ? median(floors.map((f) => f.ms)) : 0,
      floorStatements: floors[0]?.statements ?? 0,
      sinkOverFloor: alone.map((ms, i) => ms / (floors[i]?.ms ?? Number.NaN)),
      storeTime: describeStoreTime(ws.storeTime),
      insertWrites: ws.sink.insertWrites,
      upsertWrites: ws.sink.upsertWrites,
    };
  } finally {
    await ws.close();
  }
}

/**
 * The run's sink writes (batches and fences), replayed in order by a sink of their own into a new
 * schema's empty tables, with nothing else running: what the sink costs PostgreSQL and the job's
 * thread for those rows, measured the way floorUpsert measures the floor (on a connection already
 * open, as the floor's is: a new backend's start is not the sink's cost per row).
 */
async function sinkAlone(
  alone: string,
  writes: readonly [SinkBatch, SinkFence][],
  expected: ReturnType<typeof expectedRows>,
): Promise<number> {
  const pool = new pg.Pool({ connectionString: schemaUrl(alone), max: 1 });
  try {
    const admin = new pg.Client({ connectionString: settings.databaseUrl });
    await admin.connect();
    await migrate(admin, alone).finally(() => admin.end());
    const sink = new PostgresSink(pool);
    await pool.query('SELECT 1');
    // Neither this nor the floor pays for the other's dirty buffers (settleDatabase).
    await settleDatabase(settings.databaseUrl);
    const started = performance.now();
    for (const [batch, fence] of writes) await sink.write(batch, fence);
    const ms = performance.now() - started;
    const problems = compareRows(await writtenRows(pool), expected);
    if (problems.length > 0) throw new Error(`the sink's writes replayed alone: ${problems.join('; ')}`);
    return ms;
  } finally {
    await pool.end();
    await dropSchema(settings.databaseUrl, alone);
  }
}

/**
 * The same rows, chunked as the handler wrote them, upserted with nothing around them (no
 * transaction, fence or guard) into the two session tables as they were when the sink's cost was
 * first measured against this floor (2026-11-27, docs/BENCHMARKS.md): each with its primary key,
 * user_sessions with its two btree indexes. A fixed reference, so that "x times the floor" still
 * compares the sink with the same work when the sink's own tables change.
 */
async function floorUpsert(
  pool: import('pg').Pool,
  round: number,
  rows: [string, { count: number; end: number }][],
  chunks: readonly number[],
): Promise<{ ms: number; statements: number }> {
  // Each round into tables of its own, as empty as the sink's.
  const counts = `floor_counts_${round}`;
  const sessionsTable = `floor_sessions_${round}`;
  await pool.query(`CREATE TABLE ${counts} (LIKE aggregated_counts INCLUDING ALL)`);
  await pool.query(`CREATE TABLE ${sessionsTable} (LIKE user_sessions INCLUDING ALL EXCLUDING INDEXES)`);
  // user_id in the database's collation, as it was then (user_sessions compares it byte-wise since
  // 2026-12-03, lib/sink/schema.sql): the floor's indexes must not get faster with the sink's table.
  await pool.query(`ALTER TABLE ${sessionsTable} ALTER COLUMN user_id TYPE VARCHAR(255) COLLATE "default"`);
  await pool.query(`ALTER TABLE ${sessionsTable} ADD PRIMARY KEY (group_key)`);
  await pool.query(`CREATE INDEX ON ${sessionsTable} (user_id, session_start)`);
  await pool.query(`CREATE INDEX ON ${sessionsTable} (window_end_time)`);
  const { rows: sessions } = await pool.query(
    'SELECT group_key, user_id, session_start, last_event_time, window_end_time, event_count FROM user_sessions',
  );
  const byKey = new Map(sessions.map((r) => [r.group_key as string, r]));
  let at = 0;
  let statements = 0;
  await settleDatabase(settings.databaseUrl);
  const started = performance.now();
  for (const size of chunks) {
    if (size === 0) continue;
    const chunk = rows.slice(at, at + size);
    at += size;
    await pool.query(
      `INSERT INTO ${counts} (group_key, count_value, window_end_time)
       SELECT * FROM unnest($1::varchar[], $2::bigint[], $3::timestamp[])
       ON CONFLICT (group_key) DO UPDATE
          SET count_value = EXCLUDED.count_value, window_end_time = EXCLUDED.window_end_time`,
      [
        chunk.map(([key]) => key),
        chunk.map(([, r]) => r.count),
        chunk.map(([, r]) => new Date(r.end).toISOString().replace('T', ' ').replace('Z', '')),
      ],
    );
    const full = chunk.map(([key]) => byKey.get(key)).filter((r) => r !== undefined);
    await pool.query(
      `INSERT INTO ${sessionsTable}
         (group_key, user_id, session_start, last_event_time, window_end_time, event_count, topic, kafka_partition)
       SELECT *, 'floor', 0 FROM unnest($1::varchar[], $2::varchar[], $3::timestamptz[], $4::timestamptz[],
                                         $5::timestamptz[], $6::bigint[])
       ON CONFLICT (group_key) DO UPDATE
          SET last_event_time = EXCLUDED.last_event_time, window_end_time = EXCLUDED.window_end_time,
              event_count = EXCLUDED.event_count`,
      [
        full.map((r) => r.group_key),
        full.map((r) => r.user_id),
        full.map((r) => r.session_start),
        full.map((r) => r.last_event_time),
        full.map((r) => r.window_end_time),
        full.map((r) => r.event_count),
      ],
    );
    statements += 2;
  }
  return { ms: performance.now() - started, statements };
}

// Warm-up, not reported: V8 and DynamoDB Local's JVM compile their hot paths first.
progress('handler: warm-up', 0, 1, 'runs');
await run(1000, 2000, 'warm');
progress('handler: warm-up', 1, 1, 'runs');

const runs: HandlerRun[] = [];
for (const memory of ['warm', 'cold'] as const) {
  for (const size of options.batchSizes) {
    runs.push(await run(size, options.events[String(size)] ?? size * 10, memory));
  }
}
await report(runs);
