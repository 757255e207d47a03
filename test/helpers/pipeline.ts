import type pg from 'pg';
import { DynamoCheckpointStore } from '../../lib/checkpoint/index.ts';
import { type KafkaEvent, type KafkaRecord, TICK_HEADER, TICK_HEADER_VALUE } from '../../lib/decode/index.ts';
import type { EngineConfig } from '../../lib/engine/index.ts';
import { createWarmState, type PipelineDeps, type PipelineSettings } from '../../lib/pipeline/index.ts';
import { PostgresSink, type Sink } from '../../lib/sink/index.ts';
import type { SweepDeps, Ticker, TickKind } from '../../lib/sweep/index.ts';
import { buildKafkaEvent } from '../../offline/build-event.ts';
import { createCheckpointTable, createSchema, testDynamo } from './services.ts';

/** The job's defaults: G = 5 s, B = 0, L = 0, idle flush on. */
export const DEFAULT_ENGINE: EngineConfig = {
  gapMs: 5000,
  outOfOrdernessMs: 0,
  allowedLatenessMs: 0,
  idleFlush: true,
};

/** The job's default IDLE_TIMEOUT_MS (the sweep's quiet test). */
export const IDLE_TIMEOUT_MS = 5_000;

/**
 * A Ticker that remembers the ticks instead of producing them; tests put them into events. The log
 * end offsets are what a test sets in `ends` (a partition not there has no unread record).
 */
export class RecordingTicker implements Ticker {
  readonly sent: { topic: string; partition: number; kind: TickKind }[] = [];
  readonly ends = new Map<number, number>();
  /** The topic's partition count (a test may add partitions). */
  constructor(public partitionCount = 1) {}
  async partitions(): Promise<number[]> {
    return Array.from({ length: this.partitionCount }, (_, i) => i);
  }
  async endOffsets(): Promise<Map<number, number>> {
    return new Map(this.ends);
  }
  async send(topic: string, partitions: readonly number[], kind: TickKind = 'idle'): Promise<void> {
    for (const partition of partitions) this.sent.push({ topic, partition, kind });
  }
  /** The `partitions` control records the sweep appended (to partition 0): their counts. */
  readonly partitionCounts: number[] = [];
  /** Appends at partition 0's log end (`ends`), which it moves on. */
  async sendPartitionCount(_topic: string, count: number): Promise<number> {
    this.partitionCounts.push(count);
    const offset = this.ends.get(0) ?? 0;
    this.ends.set(0, offset + 1);
    return offset;
  }
}

const CLOCK_START = 1_700_000_000_000;

/** A manual clock: tests move wall-clock time instead of sleeping. */
export class Clock {
  constructor(public ms = CLOCK_START) {}
  readonly now = () => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/**
 * The TTL the tests' stores give state pieces. The manual clock starts in 2023 and DynamoDB Local
 * really deletes expired items (in the background, whenever it sweeps), so pieces stamped "2 days
 * after the clock" would vanish mid-test and a cold read would fail as lost state. The store's
 * expiry therefore reaches a year past the real time; the pipeline's own `stateTtlDays` (snapshot
 * age) stays 2, measured on the manual clock.
 */
export const STORE_TTL_DAYS = Math.ceil((Date.now() - CLOCK_START) / 86_400_000) + 365;

/**
 * The handler's collaborators against the real DynamoDB Local (a table of the test's own) and
 * PostgreSQL (a schema of the test's own).
 */
export async function createTestPipeline(settings: Partial<PipelineSettings> = {}) {
  const dynamo = testDynamo();
  const { table, drop: dropTable } = await createCheckpointTable(dynamo);
  const { pool, schema, drop: dropSchema } = await createSchema();
  const clock = new Clock();
  const store = new DynamoCheckpointStore(dynamo, { table, stateTtlDays: STORE_TTL_DAYS });
  const sink = new PostgresSink(pool);
  const deps: PipelineDeps & { sink: Sink } = {
    store,
    sink,
    now: clock.now,
    settings: {
      engine: DEFAULT_ENGINE,
      eventTimeSource: 'payload',
      stateTtlDays: 2,
      journalMax: 32,
      ...settings,
    },
    warm: createWarmState(),
  };
  const ticker = new RecordingTicker();
  const sweep: SweepDeps = {
    store,
    ticker,
    now: clock.now,
    settings: {
      idleTimeoutMs: deps.settings.engine.idleFlush ? IDLE_TIMEOUT_MS : null,
      stateTtlDays: deps.settings.stateTtlDays,
    },
  };
  return {
    deps,
    sweep,
    ticker,
    store,
    dynamo,
    clock,
    pool,
    table,
    schema,
    withSink: (other: Sink): PipelineDeps => ({ ...deps, sink: other }),
    /** The same stores as another container would see them: no warm state. */
    coldDeps: (): PipelineDeps => ({ ...deps, warm: createWarmState() }),
    rows: () => readRows(pool),
    rejected: async () =>
      (
        await pool.query(
          'SELECT kafka_partition AS partition, kafka_offset::int AS offset, reason FROM rejected_events ORDER BY 1, 2',
        )
      ).rows as { partition: number; offset: number; reason: string }[],
    cleanup: async () => {
      await dropSchema();
      await dropTable();
      dynamo.destroy();
    },
  };
}

export async function readRows(pool: pg.Pool): Promise<{ group_key: string; count: number; end: string }[]> {
  const { rows } = await pool.query(
    `SELECT group_key, count_value::int AS count,
            to_char(window_end_time, 'YYYY-MM-DD HH24:MI:SS.MS') AS end
       FROM aggregated_counts ORDER BY group_key`,
  );
  return rows;
}

/** A record of `topic`-`partition` at `offset` with the given text value. */
export function record(
  value: string | Buffer | null,
  offset: number,
  partition = 0,
  topic = 'user_activity',
): KafkaRecord {
  return {
    topic,
    partition,
    offset,
    timestamp: 1_700_000_000_000 + offset,
    timestampType: 'CREATE_TIME',
    key: null,
    value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'),
    headers: [],
  };
}

/** An idle tick at `offset`, stamped `timestamp` (as the sweep's producer would). */
export function tickRecord(
  offset: number,
  timestamp: number,
  partition = 0,
  topic = 'user_activity',
): KafkaRecord {
  return {
    ...record(null, offset, partition, topic),
    timestamp,
    headers: [{ key: TICK_HEADER, value: Buffer.from(TICK_HEADER_VALUE) }],
  };
}

/** An MSK event of these values (or ready records) at consecutive offsets from `firstOffset`. */
export function mskEvent(
  values: readonly (string | Buffer | null | KafkaRecord)[],
  firstOffset = 0,
  partition = 0,
  topic = 'user_activity',
): KafkaEvent {
  return buildKafkaEvent({
    eventSource: 'aws:kafka',
    eventSourceArn:
      'arn:aws:kafka:us-east-1:123456789012:cluster/sessionizer-test/abcd1234-0123-4567-89ab-cdef01234567-1',
    bootstrapServers: ['127.0.0.1:9092'],
    records: values.map((v, i) =>
      v !== null && typeof v === 'object' && !Buffer.isBuffer(v)
        ? v
        : record(v, firstOffset + i, partition, topic),
    ),
  });
}
