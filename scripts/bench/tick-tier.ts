/**
 * The tick tier: one idle tick that fires a million sessions (docs/DESIGN.md section 4, early
 * firing). `users` users send one event each, all within one gap, so no session closes; then the
 * sweep's idle tick arrives and its one transition writes every session at once, in one
 * transaction, which the sink cuts into statements of ROWS_PER_STATEMENT rows
 * (lib/sink/postgres-sink.ts), each far below statement_timeout (DATABASE_QUERY_TIMEOUT_MS).
 */
import { type KafkaRecord, TICK_HEADER, TICK_HEADER_VALUE } from '../../lib/decode/index.ts';
import { handleKafkaEvent } from '../../lib/pipeline/index.ts';
import { ROWS_PER_STATEMENT } from '../../lib/sink/index.ts';
import { buildKafkaEvent } from '../../offline/build-event.ts';
import { childOptions, peakRssMb, progress, report } from './protocol.ts';
import { BENCH_ENGINE, STREAM_EPOCH_MS, userId } from './stream.ts';
import { openWorkspace } from './workspace.ts';

export interface TickTierOptions {
  readonly users: number;
}

export interface TickResult {
  readonly users: number;
  /** Sessions the tick wrote (rows in each table). */
  readonly sessions: number;
  /** The tick's invocation, and its sink transaction within it. */
  readonly tickMs: number;
  readonly postgresMs: number;
  /** Statements of the tick's write: BEGIN, the chunks, COMMIT (one chunk: just it). */
  readonly statements: number;
  readonly chunks: number;
  readonly statementTimeoutMs: number;
  /** The batches of events before it (one event per user). */
  readonly loadMs: number;
  readonly peakRssMb: number;
}

const options = childOptions<TickTierOptions>();
const TOPIC = 'bench_tick';
const ARN = 'arn:aws:kafka:us-east-1:111122223333:cluster/bench/00000000-0000-0000-0000-000000000000-1';
const BATCH = 10_000;
// Every event within the first G - B ms: the watermark (max t - B - 1) stays below every end - 1.
const SPREAD_MS = BENCH_ENGINE.gapMs - BENCH_ENGINE.outOfOrdernessMs;

const event = (records: KafkaRecord[]) =>
  buildKafkaEvent({
    eventSource: 'aws:kafka',
    eventSourceArn: ARN,
    bootstrapServers: ['b-1.bench:9098'],
    records,
  });

const ws = await openWorkspace('tick');
try {
  const loadStarted = performance.now();
  for (let from = 0; from < options.users; from += BATCH) {
    const records: KafkaRecord[] = [];
    for (let u = from; u < Math.min(options.users, from + BATCH); u++) {
      const id = userId(u);
      const t = STREAM_EPOCH_MS + (u % SPREAD_MS);
      records.push({
        topic: TOPIC,
        partition: 0,
        offset: u,
        timestamp: t,
        timestampType: 'CREATE_TIME',
        key: Buffer.from(id),
        value: Buffer.from(`${id},${t}`),
        headers: [],
      });
    }
    const [outcome] = await handleKafkaEvent(ws.deps, event(records));
    if (outcome === undefined || outcome.emitted !== 0) throw new Error('a session closed before the tick');
    progress('tick: one event per user', from + records.length, options.users);
  }
  const loadMs = performance.now() - loadStarted;
  const before = ws.sink.statements;
  const tick: KafkaRecord = {
    topic: TOPIC,
    partition: 0,
    offset: options.users,
    timestamp: STREAM_EPOCH_MS + SPREAD_MS,
    timestampType: 'CREATE_TIME',
    key: null,
    value: null,
    headers: [{ key: TICK_HEADER, value: Buffer.from(TICK_HEADER_VALUE) }],
  };
  progress('tick: the idle tick', 0, 1, 'ticks');
  const started = performance.now();
  const [outcome] = await handleKafkaEvent(ws.deps, event([tick]));
  const tickMs = performance.now() - started;
  progress('tick: the idle tick', 1, 1, 'ticks');
  const statements = ws.sink.statements - before;
  if (outcome === undefined) throw new Error('the tick returned no partition outcome');
  const { rows } = await ws.pool.query<{ counts: string; sessions: string; events: string }>(
    `SELECT (SELECT count(*) FROM aggregated_counts) AS counts, (SELECT count(*) FROM user_sessions) AS sessions,
            (SELECT sum(event_count) FROM user_sessions) AS events`,
  );
  const counted = rows[0];
  if (
    counted === undefined ||
    Number(counted.counts) !== options.users ||
    Number(counted.sessions) !== options.users ||
    Number(counted.events) !== options.users
  ) {
    throw new Error(
      `tick tier: expected ${options.users} rows in each table, found ${JSON.stringify(counted)}`,
    );
  }
  const expectedChunks = Math.ceil(options.users / ROWS_PER_STATEMENT);
  // BEGIN, the chunks (the first with the fence), COMMIT: written by chunks, not at once.
  const expected = expectedChunks > 1 ? expectedChunks + 2 : 1;
  if (statements !== expected) throw new Error(`tick tier: ${statements} statements, expected ${expected}`);
  await report<TickResult>({
    users: options.users,
    sessions: options.users,
    tickMs,
    postgresMs: outcome.postgresMs,
    statements,
    chunks: expectedChunks,
    statementTimeoutMs: ws.runtime.config.databaseQueryTimeoutMs,
    loadMs,
    peakRssMb: peakRssMb(),
  });
} finally {
  await ws.close();
}
