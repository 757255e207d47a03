/**
 * Tier 2, the handler: the Lambda handler's work (decode the MSK event, fold, DynamoDB Local
 * checkpoint, PostgreSQL sink) on one partition, one batch after the other as the event source
 * mapping delivers them, for each batch size. Building the events is not timed.
 *
 * Then the floor: a bare `unnest` upsert of the same rows, in the same chunks, into a table of the
 * same shape (no transaction, fence or guard): what PostgreSQL alone needs for those rows.
 */
import { buildKafkaEvent } from '../../lib/kafka/index.ts';
import type { KafkaRecord } from '../../lib/kafka/types.ts';
import { handleKafkaEvent } from '../../lib/pipeline/index.ts';
import { type Cost, childOptions, peakRssMb, progress, report, type TierRow } from './protocol.ts';
import { expectedRows, generate, partitionRecords } from './stream.ts';
import { compareRows, describeStoreTime, openWorkspace, writtenRows } from './workspace.ts';

export interface HandlerTierOptions {
  readonly batchSizes: readonly number[];
  /** Events per batch size. */
  readonly events: Readonly<Record<string, number>>;
  readonly users: number;
  readonly seed: number;
}

export interface HandlerRun {
  readonly row: TierRow;
  readonly batchSize: number;
  readonly batches: number;
  readonly dynamodbMs: number;
  readonly postgresMs: number;
  readonly rows: number;
  /** max over batches of (items written - users whose state changed). */
  readonly itemsOverUsers: number;
  readonly avgUsersPerBatch: number;
  readonly avgItemsWrittenPerBatch: number;
  readonly floorMs: number;
  readonly floorStatements: number;
  /** Share of the DynamoDB time per store call. */
  readonly storeTime: string;
}

const options = childOptions<HandlerTierOptions>();
const TOPIC = 'bench_handler';
const ARN = 'arn:aws:kafka:us-east-1:111122223333:cluster/bench/00000000-0000-0000-0000-000000000000-1';

async function run(batchSize: number, events: number): Promise<HandlerRun> {
  const stream = generate({ events, users: options.users, partitions: 1, seed: options.seed });
  const records = partitionRecords(stream, 0);
  const expected = expectedRows(stream, 1);
  const ws = await openWorkspace(`handler_${batchSize}`);
  const chunkRows: number[] = [];
  try {
    const stats = ws.deps.store.stats;
    const before = { ...stats };
    let wall = 0;
    let dynamodbMs = 0;
    let postgresMs = 0;
    let itemsOverUsers = Number.NEGATIVE_INFINITY;
    let users = 0;
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
      const written = stats.itemsWritten;
      const upserted = ws.sink.upserted;
      const started = performance.now();
      const [outcome] = await handleKafkaEvent(ws.deps, event);
      wall += performance.now() - started;
      if (outcome === undefined) throw new Error('handler returned no partition outcome');
      dynamodbMs += outcome.dynamodbMs;
      postgresMs += outcome.postgresMs;
      users += outcome.usersTouched;
      itemsOverUsers = Math.max(itemsOverUsers, stats.itemsWritten - written - outcome.usersTouched);
      chunkRows.push(ws.sink.upserted - upserted);
      progress(`handler: batch ${batchSize.toLocaleString('en-US')}`, i + slice.length, records.length);
    }
    const rowsWritten = await writtenRows(ws.pool);
    const problems = compareRows(rowsWritten, expected);
    if (problems.length > 0) throw new Error(`handler tier, batch ${batchSize}: ${problems.join('; ')}`);

    const floor = await floorUpsert(ws.pool, [...rowsWritten.entries()], chunkRows);
    const batches = Math.ceil(records.length / batchSize);
    const per1k = (n: number) => (n * 1000) / records.length;
    const cost: Cost = {
      dynamodbCalls: per1k(stats.calls - before.calls),
      itemsRead: per1k(stats.itemsRead - before.itemsRead),
      itemsWritten: per1k(stats.itemsWritten - before.itemsWritten),
      pgStatements: per1k(ws.sink.statements),
    };
    return {
      row: {
        tier: 'handler',
        detail: `batch ${batchSize.toLocaleString('en-US')}`,
        events: records.length,
        seconds: wall / 1000,
        eventsPerSecond: records.length / (wall / 1000),
        costPer1k: cost,
        peakRssMb: peakRssMb(),
      },
      batchSize,
      batches,
      dynamodbMs,
      postgresMs,
      rows: expected.size,
      itemsOverUsers,
      avgUsersPerBatch: users / batches,
      avgItemsWrittenPerBatch: (stats.itemsWritten - before.itemsWritten) / batches,
      floorMs: floor.ms,
      floorStatements: floor.statements,
      storeTime: describeStoreTime(ws.storeTime),
    };
  } finally {
    await ws.close();
  }
}

/** The same rows, chunked as the handler wrote them, upserted with nothing around them. */
async function floorUpsert(
  pool: import('pg').Pool,
  rows: [string, { count: number; end: number }][],
  chunks: readonly number[],
): Promise<{ ms: number; statements: number }> {
  await pool.query('CREATE TABLE floor_counts (LIKE aggregated_counts INCLUDING ALL)');
  let at = 0;
  let statements = 0;
  const started = performance.now();
  for (const size of chunks) {
    if (size === 0) continue;
    const chunk = rows.slice(at, at + size);
    at += size;
    await pool.query(
      `INSERT INTO floor_counts (group_key, count_value, window_end_time)
       SELECT * FROM unnest($1::varchar[], $2::bigint[], $3::timestamp[])
       ON CONFLICT (group_key) DO UPDATE
          SET count_value = EXCLUDED.count_value, window_end_time = EXCLUDED.window_end_time`,
      [
        chunk.map(([key]) => key),
        chunk.map(([, r]) => r.count),
        chunk.map(([, r]) => new Date(r.end).toISOString().replace('T', ' ').replace('Z', '')),
      ],
    );
    statements++;
  }
  return { ms: performance.now() - started, statements };
}

// Warm-up, not reported: V8 and DynamoDB Local's JVM compile their hot paths first.
progress('handler: warm-up', 0, 1, 'runs');
await run(1000, 2000);
progress('handler: warm-up', 1, 1, 'runs');

const runs: HandlerRun[] = [];
for (const size of options.batchSizes) {
  runs.push(await run(size, options.events[String(size)] ?? size * 10));
}
await report(runs);
