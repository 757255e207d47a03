/**
 * Tier 3, the job's side of end-to-end: the local Kafka trigger (the PartitionReader that
 * `serverless offline start` runs for the msk event) in this process's main thread, invoking the
 * handler's code in a worker thread per partition (scripts/bench/e2e-handler.ts), against the
 * run's own checkpoint table and schema. Under serverless offline each concurrent invocation gets
 * a worker thread too (its pool picks any idle one, where this keeps a partition on its own); on
 * AWS each gets a container. The trigger, event shape, batching and handler are the same; the
 * event is built in the handler's thread from the batch's records (offline/packed-records.ts).
 *
 * Records when each session's row became visible (the sink transaction committed) to a file, for
 * the parent to turn into latencies. Stops when the parent says so, then reports its cost.
 *
 * The latency runs start a job that has been running: before it says ready, a short stream on a
 * topic of its own goes through the same trigger and handlers (warmUp), so the handlers' code is
 * compiled and their clients connected, as in the containers of a job that has been up for a while.
 * A fresh job's first batches pay for that once (docs/BENCHMARKS.md, "Warm handlers").
 */
import { writeFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { Kafka, logLevel } from 'kafkajs';
import { emptyStoreStats, type StoreStats } from '../../lib/checkpoint/index.ts';
import { normaliseSettings, type TriggerDefinition } from '../../offline/definition.ts';
import type { PackedBatch } from '../../offline/packed-records.ts';
import { PartitionReader } from '../../offline/reader.ts';
import { createTopicsAndWait } from '../services/kafka.ts';
import type { FromHandler, HandlerData, ToHandler } from './e2e-handler.ts';
import { type Cost, childOptions, peakRssMb, progress } from './protocol.ts';
import { costPer1k, describeStoreTime, openWorkspace, type StoreTime, settings } from './workspace.ts';

export interface PipelineOptions {
  readonly name: string;
  readonly topic: string;
  readonly group: string;
  readonly batchSize: number;
  readonly windowMs: number;
  readonly partitions: number;
  readonly expectedEvents: number;
  /** Where to write the visibility samples: Float64 triples (partition, session end, committed at). */
  readonly samplesFile: string;
  /** Events of the warm-up stream run before `ready` (0: none; see warmUp). */
  readonly warmUpEvents: number;
  /** The job's settings beyond the bench's (the nexmark tier: its field mapping and gap). */
  readonly env?: Record<string, string>;
}

export interface PipelineResult {
  readonly records: number;
  readonly invocations: number;
  readonly maxRecordsPerInvocation: number;
  readonly firstInvokeAt: number;
  readonly lastCommitAt: number;
  readonly samples: number;
  readonly dynamodbMs: number;
  readonly postgresMs: number;
  readonly handlerMs: number;
  readonly costPer1k: Cost;
  readonly peakRssMb: number;
  readonly storeTime: string;
  /** Sink transactions that wrote sessions with plain inserts, and with the guarded upserts. */
  readonly insertWrites: number;
  readonly upsertWrites: number;
  /** CPU time of this process (the trigger and the handler) from the first invocation to the end. */
  readonly cpuMs: number;
}

const options = childOptions<PipelineOptions>();
let samples = new Float64Array(3 * 65_536);
let sampleCount = 0;
let lastCommitAt = 0;
let records = 0;
let invocations = 0;
let maxRecords = 0;
let firstInvokeAt = 0;
let dynamodbMs = 0;
let postgresMs = 0;
let handlerMs = 0;
let cpuAtFirstInvoke: NodeJS.CpuUsage | undefined;
// The run's table and schema. The function's code runs in a worker thread per partition
// (scripts/bench/e2e-handler.ts), each with a runtime of its own (DATABASE_POOL_SIZE's default 2
// connections), as each partition's invocations run in a container of their own on AWS and in a
// worker thread of their own under serverless offline.
const ws = await openWorkspace(options.name, undefined, options.env);
const triggerSettings = normaliseSettings(
  { kafka: { brokers: settings.kafkaBrokers, retryInitialMs: 100, retryMaxMs: 1000 } },
  {},
);
/** The emulated MSK trigger's event source: the events say so, as on AWS. */
const EVENT_SOURCE = {
  eventSource: 'aws:kafka',
  eventSourceArn: 'arn:aws:kafka:us-east-1:111122223333:cluster/bench/00000000-0000-0000-0000-000000000000-1',
} as const;
// Node 20's workers do not inherit tsx's `--import` hooks: the worker loads the handler through tsx's API.
const TS_WORKER = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ tsImport }) => tsImport(${JSON.stringify(new URL('./e2e-handler.ts', import.meta.url).href)}, import.meta.url))`;
const handlers = Array.from({ length: options.partitions }, () => {
  const data: HandlerData = {
    name: options.name,
    storage: { table: ws.table, schema: ws.schema },
    env: options.env ?? {},
    trigger: EVENT_SOURCE,
    brokers: triggerSettings.brokers,
  };
  return new Worker(TS_WORKER, { eval: true, workerData: data });
});
const pending = new Map<number, (reply: FromHandler) => void>();
let nextId = 0;
const settled: FromHandler[] = [];
await Promise.all(
  handlers.map(
    (worker) =>
      new Promise<void>((resolve) => {
        // A handler that dies takes its partition with it: the run ends, and the parent reports it.
        worker.on('error', (error) => {
          console.error(`bench: a handler worker failed: ${error.stack ?? error.message}`);
          process.exit(1);
        });
        worker.on('message', (message: FromHandler) => {
          if (message.type === 'ready') resolve();
          else if (message.type === 'stats') settled.push(message);
          else pending.get(message.id)?.(message);
        });
      }),
  ),
);

type Done = Extract<FromHandler, { type: 'done' }>;

/**
 * Runs a batch in its partition's worker, which builds the event from the records (the trigger
 * hands them over packed, and the bytes are transferred: offline/packed-records.ts); throws the
 * function's error message as the trigger expects.
 */
async function invokeHandler(packed: PackedBatch): Promise<Done> {
  const worker = handlers[packed.partition % handlers.length] as Worker;
  const id = nextId++;
  const batch = packed.bytes;
  const reply = await new Promise<FromHandler>((resolve) => {
    pending.set(id, resolve);
    worker.postMessage({ type: 'invoke', id, batch } satisfies ToHandler, [batch]);
  });
  pending.delete(id);
  if (reply.type === 'failed') throw new Error(reply.message);
  if (reply.type !== 'done') throw new Error(`the handler answered ${reply.type} to an invocation`);
  return reply;
}

function addSamples(more: Float64Array): void {
  if (3 * sampleCount + more.length > samples.length) {
    const grown = new Float64Array(Math.max(samples.length * 2, 3 * sampleCount + more.length));
    grown.set(samples);
    samples = grown;
  }
  samples.set(more, 3 * sampleCount);
  sampleCount += more.length / 3;
}

const kafka = new Kafka({
  clientId: 'bench-trigger',
  brokers: settings.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});

function triggerOn(topic: string, consumerGroupId: string): TriggerDefinition {
  return {
    functionKey: 'sessionize',
    ...EVENT_SOURCE,
    topic,
    consumerGroupId,
    batchSize: options.batchSize,
    maximumBatchingWindowMs: options.windowMs,
    startingPosition: 'TRIM_HORIZON',
    startingPositionTimestampMs: undefined,
    enabled: true,
    reportBatchItemFailures: false,
    filterPatterns: [],
  };
}

/**
 * A reader (the trigger) on `topic`, started, once the group has assigned it the partitions:
 * startUntilRunning returns before that, and a producer started then would have its first records
 * wait for the join. The trigger's `ready` line says it.
 */
async function startReader(
  topic: string,
  group: string,
  invoke: (batch: PackedBatch) => Promise<void>,
): Promise<PartitionReader> {
  let markJoined: () => void = () => undefined;
  const joined = new Promise<void>((resolve) => {
    markJoined = resolve;
  });
  const reader = new PartitionReader(
    kafka,
    triggerOn(topic, group),
    triggerSettings,
    async (_functionKey, batch) => {
      await invoke(batch as PackedBatch);
      return { batchItemFailures: [] };
    },
    {
      info: (message) => {
        if (message.includes(': ready, ')) markJoined();
      },
      warn: (message) => console.error(message),
    },
    { handOver: 'packed' },
  );
  await reader.startUntilRunning();
  await joined;
  return reader;
}

/**
 * `events` events of 2,000 users of its own (`warmup_<n>`) on a topic of its own, through the
 * trigger and the handlers until every one is handled; then the topic and its rows are deleted.
 * Nothing of it is counted: the handlers' warm caches keep its small partitions, and their
 * counters start again at zero.
 */
async function warmUp(events: number): Promise<void> {
  const topic = `${options.topic}-warmup`;
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await producer.connect();
  try {
    await createTopicsAndWait(admin, [{ topic, numPartitions: options.partitions }]);
    for (let from = 0; from < events; from += 5000) {
      const messages = [];
      for (let i = from; i < Math.min(events, from + 5000); i++) {
        const id = `warmup_${i % 2000}`;
        messages.push({ key: id, value: `${id},${1_000_000 + 100 * i}`, partition: i % options.partitions });
      }
      await producer.send({ topic, messages });
    }
    let handled = 0;
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    const reader = await startReader(topic, `${options.group}-warmup`, async (event) => {
      const { records: n } = await invokeHandler(event);
      handled += n;
      if (handled >= events) done();
    });
    await all;
    await reader.stop();
    await admin.deleteTopics({ topics: [topic] });
    // Its rows go, so the run's rows are the measured stream's alone.
    await ws.pool.query(`DELETE FROM aggregated_counts WHERE group_key LIKE 'warmup\\_%'`);
    await ws.pool.query(`DELETE FROM user_sessions WHERE user_id LIKE 'warmup\\_%'`);
    await ws.pool.query('DELETE FROM rejected_events WHERE topic = $1', [topic]);
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
  for (const worker of handlers) worker.postMessage({ type: 'reset' } satisfies ToHandler);
}

if (options.warmUpEvents > 0) await warmUp(options.warmUpEvents);
const reader = await startReader(options.topic, options.group, async (event) => {
  if (firstInvokeAt === 0) {
    firstInvokeAt = Date.now();
    cpuAtFirstInvoke = process.cpuUsage();
  }
  const started = performance.now();
  const reply = await invokeHandler(event);
  handlerMs += performance.now() - started;
  invocations++;
  lastCommitAt = Math.max(lastCommitAt, reply.lastCommitAt);
  addSamples(reply.samples);
  records += reply.records;
  maxRecords = Math.max(maxRecords, reply.records);
  dynamodbMs += reply.dynamodbMs;
  postgresMs += reply.postgresMs;
  progress('e2e: processed', records, options.expectedEvents);
});
process.send?.({ type: 'ready', schema: ws.schema });
process.on('message', async (message: { type?: string }) => {
  if (message.type !== 'finish') return;
  await reader.stop();
  const cpu = process.cpuUsage(cpuAtFirstInvoke);
  // Every handler's counters, summed: the run's cost and where its store time went.
  await Promise.all(
    handlers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          worker.postMessage({ type: 'finish' } satisfies ToHandler);
        }),
    ),
  );
  const stats = emptyStoreStats();
  const storeTime: StoreTime = {};
  const sink = { statements: 0, insertWrites: 0, upsertWrites: 0 };
  for (const m of settled) {
    if (m.type !== 'stats') continue;
    for (const key of Object.keys(stats) as (keyof StoreStats)[]) stats[key] += m.store[key];
    for (const [call, ms] of Object.entries(m.storeTime)) storeTime[call] = (storeTime[call] ?? 0) + ms;
    sink.statements += m.sink.statements;
    sink.insertWrites += m.sink.insertWrites;
    sink.upsertWrites += m.sink.upsertWrites;
  }
  await writeFile(options.samplesFile, Buffer.from(samples.buffer, 0, 3 * sampleCount * 8));
  const result: PipelineResult = {
    records,
    invocations,
    maxRecordsPerInvocation: maxRecords,
    firstInvokeAt,
    lastCommitAt,
    samples: sampleCount,
    dynamodbMs,
    postgresMs,
    handlerMs,
    costPer1k: costPer1k(emptyStoreStats(), stats, records, sink.statements),
    peakRssMb: peakRssMb(),
    storeTime: describeStoreTime(storeTime),
    insertWrites: sink.insertWrites,
    upsertWrites: sink.upsertWrites,
    cpuMs: cpuAtFirstInvoke === undefined ? 0 : (cpu.user + cpu.system) / 1000,
  };
  await ws.close();
  process.send?.({ type: 'result', result }, () => process.exit(0));
});
