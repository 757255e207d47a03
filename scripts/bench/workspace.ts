/**
 * A benchmark run's own checkpoint table and PostgreSQL schema, the job's runtime pointed at them
 * (the same createRuntime the Lambda handlers use), and counters around the sink. Dropped by
 * close(), so runs never see each other's state.
 */
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { ensureCheckpointTable, type StoreStats } from '../../lib/checkpoint/index.ts';
import type { PipelineDeps } from '../../lib/pipeline/index.ts';
import { createRuntime, type Runtime } from '../../lib/runtime/index.ts';
import { migrate, type SinkBatch, type SinkFence } from '../../lib/sink/index.ts';
import { dynamoClient } from '../services/dynamodb.ts';
import { serviceSettings } from '../services/settings.ts';
import type { Cost } from './protocol.ts';
import { BENCH_ENGINE } from './stream.ts';

export interface SinkCounters {
  writes: number;
  statements: number;
  upserted: number;
  /** Transactions that wrote sessions with plain inserts, and with the guarded upserts. */
  insertWrites: number;
  upsertWrites: number;
}

/** Milliseconds spent in each checkpoint-store method (which DynamoDB call dominates). */
export type StoreTime = Record<string, number>;

export interface Workspace {
  readonly name: string;
  readonly table: string;
  readonly schema: string;
  readonly deps: PipelineDeps;
  readonly runtime: Runtime;
  readonly sink: SinkCounters;
  readonly storeTime: StoreTime;
  /** A pool on the run's schema, for checks and the floor reference. */
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

export const settings = serviceSettings();

/** The local database with `schema` first on the search path (the job's SQL is unqualified). */
export function schemaUrl(schema: string): string {
  const url = new URL(settings.databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** Drops a run's schema and everything in it (a bench schema never outlives its run). */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${admin.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await admin.end();
  }
}

/**
 * Writes PostgreSQL's dirty buffers out now (CHECKPOINT), so that a timed run does not pay for the
 * previous run's: a drain writes about 183 MB of WAL, and with max_wal_size at 1 GB a checkpoint
 * the WAL volume requested would land in about every third run, whichever came next
 * (docs/BENCHMARKS.md, "The flink tier"). The job and Flink each start so. False when the bench's
 * user may not (it needs superuser or pg_checkpoint): the run goes on, as it did before.
 */
export async function settleDatabase(databaseUrl: string): Promise<boolean> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query('CHECKPOINT');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '42501') return false;
    throw error;
  } finally {
    await admin.end();
  }
}

/** Called after each sink transaction committed (its rows are visible from then on). */
export type OnCommit = (batch: SinkBatch, fence: SinkFence, committedAt: number) => void;

/** A run's checkpoint table and schema, made by one workspace and shared by others (`attach`). */
export interface WorkspaceStorage {
  readonly table: string;
  readonly schema: string;
}

/**
 * `env`: settings of the job's runtime beyond the run's own table, schema and engine settings.
 * `attach`: another workspace's table and schema (a handler worker of the end-to-end tier, as a
 * second container of the same function), which this one's close() leaves for their owner to drop.
 */
export async function openWorkspace(
  name: string,
  onCommit?: OnCommit,
  env: Record<string, string> = {},
  attach?: WorkspaceStorage,
): Promise<Workspace> {
  const id = `${name}_${Date.now().toString(36)}_${process.pid}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  const table = attach?.table ?? `bench-${id}`;
  const schema = attach?.schema ?? `bench_${id}`;
  const dynamo = dynamoClient(settings);
  if (attach === undefined) {
    await ensureCheckpointTable(dynamo, table);
    const admin = new pg.Client({ connectionString: settings.databaseUrl });
    await admin.connect();
    await migrate(admin, schema);
    await admin.end();
  }

  const runtime = createRuntime({
    ...process.env,
    CHECKPOINT_TABLE: table,
    DATABASE_URL: schemaUrl(schema),
    DYNAMODB_ENDPOINT: settings.dynamodbEndpoint,
    SESSION_GAP_MS: String(BENCH_ENGINE.gapMs),
    OUT_OF_ORDERNESS_MS: String(BENCH_ENGINE.outOfOrdernessMs),
    ALLOWED_LATENESS_MS: String(BENCH_ENGINE.allowedLatenessMs),
    ...env,
  });
  const counters: SinkCounters = { writes: 0, statements: 0, upserted: 0, insertWrites: 0, upsertWrites: 0 };
  const inner = runtime.deps.sink;
  const storeTime: StoreTime = {};
  const store = runtime.deps.store;
  const timed = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await value.apply(target, args);
        } finally {
          storeTime[String(key)] = (storeTime[String(key)] ?? 0) + performance.now() - started;
        }
      };
    },
  });
  const deps: PipelineDeps = {
    ...runtime.deps,
    store: timed,
    sink: {
      fenceGenerations: (topic) => inner.fenceGenerations(topic),
      write: async (batch, fence) => {
        const result = await inner.write(batch, fence);
        onCommit?.(batch, fence, Date.now());
        counters.writes++;
        counters.statements += result.statements;
        counters.upserted += result.upserted;
        if (result.upserted > 0 && result.mode === 'insert') counters.insertWrites++;
        if (result.upserted > 0 && result.mode === 'upsert') counters.upsertWrites++;
        return result;
      },
    },
  };
  const pool = new pg.Pool({ connectionString: schemaUrl(schema), max: 2 });
  return {
    name,
    table,
    schema,
    deps,
    runtime,
    sink: counters,
    storeTime,
    pool,
    close: async () => {
      await runtime.close();
      await pool.end();
      if (attach === undefined) {
        await dropSchema(settings.databaseUrl, schema);
        await dynamo.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
      }
      dynamo.destroy();
    },
  };
}

/** Cost per 1,000 events between two snapshots of the store's counters. */
export function costPer1k(before: StoreStats, after: StoreStats, events: number, pgStatements: number): Cost {
  const per1k = (n: number) => (n * 1000) / Math.max(1, events);
  return {
    dynamodbCalls: per1k(after.calls - before.calls),
    readUnits: per1k(after.readUnits - before.readUnits),
    writeUnits: per1k(after.writeUnits - before.writeUnits),
    kbWritten: per1k((after.bytesWritten - before.bytesWritten) / 1024),
    pgStatements: per1k(pgStatements),
  };
}

/** The rows the run wrote, keyed by group_key. */
export async function writtenRows(pool: pg.Pool): Promise<Map<string, { count: number; end: number }>> {
  const { rows } = await pool.query<{ group_key: string; count: string; end_ms: string }>(
    `SELECT group_key, count_value AS count,
            (EXTRACT(EPOCH FROM window_end_time AT TIME ZONE 'UTC') * 1000)::bigint AS end_ms
       FROM aggregated_counts`,
  );
  return new Map(rows.map((r) => [r.group_key, { count: Number(r.count), end: Number(r.end_ms) }]));
}

/** Compares the written rows with the expected ones; a message per kind of difference, [] when equal. */
export function compareRows(
  written: Map<string, { count: number; end: number }>,
  expected: Map<string, { count: number; end: number }>,
): string[] {
  let missing = 0;
  let wrong = 0;
  let extra = 0;
  for (const [key, row] of expected) {
    const got = written.get(key);
    if (got === undefined) missing++;
    else if (got.count !== row.count || got.end !== row.end) wrong++;
  }
  for (const key of written.keys()) if (!expected.has(key)) extra++;
  const problems: string[] = [];
  if (missing > 0) problems.push(`${missing} expected rows missing`);
  if (wrong > 0) problems.push(`${wrong} rows with another count or end`);
  if (extra > 0) problems.push(`${extra} rows not expected`);
  return problems;
}

/** "writeUsers 61 %, readUsers 20 %, ..." of the store time, largest first. */
export function describeStoreTime(time: StoreTime): string {
  const total = Object.values(time).reduce((a, b) => a + b, 0);
  return Object.entries(time)
    .sort((a, b) => b[1] - a[1])
    .map(([call, ms]) => `${call} ${Math.round((100 * ms) / total)} %`)
    .join(', ');
}
