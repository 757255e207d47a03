/**
 * Tier 3, the job's side of end-to-end: the local Kafka trigger (the PartitionReader that
 * `serverless offline start` runs for the msk event) invoking the handler's code in this process,
 * against its own checkpoint table and schema. (serverless-offline would add a worker-thread hop
 * per invocation; the trigger, event shape, batching and handler are the same.)
 *
 * Records when each session's row became visible (the sink transaction committed) to a file, for
 * the parent to turn into latencies. Stops when the parent says so, then reports its cost.
 */
import { writeFile } from 'node:fs/promises';
import { Kafka, logLevel } from 'kafkajs';
import { emptyStoreStats } from '../../lib/checkpoint/index.ts';
import { handleKafkaEvent } from '../../lib/pipeline/index.ts';
import { normaliseSettings, type TriggerDefinition } from '../../offline/definition.ts';
import { PartitionReader } from '../../offline/reader.ts';
import { type Cost, childOptions, peakRssMb, progress } from './protocol.ts';
import { costPer1k, describeStoreTime, openWorkspace, settings } from './workspace.ts';

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
// One PostgreSQL connection per partition: this process runs every partition's invocations, which
// on AWS (and under serverless offline, whose concurrent invocations get worker threads of their
// own) run in containers of their own, each with its own pool (DATABASE_POOL_SIZE, 2). With the
// default 2 here, one partition's sink would wait for another's transaction to end.
const poolPerPartition = { DATABASE_POOL_SIZE: String(options.partitions) };
const ws = await openWorkspace(
  options.name,
  (batch, fence, committedAt) => {
    lastCommitAt = committedAt;
    for (const session of batch.emitted) {
      if (3 * (sampleCount + 1) > samples.length) {
        const grown = new Float64Array(samples.length * 2);
        grown.set(samples);
        samples = grown;
      }
      samples.set([fence.partition, session.end, committedAt], 3 * sampleCount++);
    }
  },
  poolPerPartition,
);

let records = 0;
let invocations = 0;
let maxRecords = 0;
let firstInvokeAt = 0;
let dynamodbMs = 0;
let postgresMs = 0;
let handlerMs = 0;
let cpuAtFirstInvoke: NodeJS.CpuUsage | undefined;
const trigger: TriggerDefinition = {
  functionKey: 'sessionize',
  eventSource: 'aws:kafka',
  eventSourceArn: 'arn:aws:kafka:us-east-1:111122223333:cluster/bench/00000000-0000-0000-0000-000000000000-1',
  topic: options.topic,
  consumerGroupId: options.group,
  batchSize: options.batchSize,
  maximumBatchingWindowMs: options.windowMs,
  startingPosition: 'TRIM_HORIZON',
  startingPositionTimestampMs: undefined,
  enabled: true,
  reportBatchItemFailures: false,
  filterPatterns: [],
};
const triggerSettings = normaliseSettings(
  { kafka: { brokers: settings.kafkaBrokers, retryInitialMs: 100, retryMaxMs: 1000 } },
  {},
);
const kafka = new Kafka({
  clientId: 'bench-trigger',
  brokers: settings.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});
const reader = new PartitionReader(
  kafka,
  trigger,
  triggerSettings,
  async (_functionKey, event) => {
    if (firstInvokeAt === 0) {
      firstInvokeAt = Date.now();
      cpuAtFirstInvoke = process.cpuUsage();
    }
    const started = performance.now();
    const outcomes = await handleKafkaEvent(ws.deps, event);
    handlerMs += performance.now() - started;
    invocations++;
    let n = 0;
    for (const o of outcomes) {
      n += o.records;
      dynamodbMs += o.dynamodbMs;
      postgresMs += o.postgresMs;
    }
    records += n;
    maxRecords = Math.max(maxRecords, n);
    progress('e2e: processed', records, options.expectedEvents);
    return { batchItemFailures: [] };
  },
  { info: () => undefined, warn: (message) => console.error(message) },
);
await reader.startUntilRunning();
process.send?.({ type: 'ready', schema: ws.schema });

process.on('message', async (message: { type?: string }) => {
  if (message.type !== 'finish') return;
  await reader.stop();
  const cpu = process.cpuUsage(cpuAtFirstInvoke);
  const stats = ws.deps.store.stats;
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
    costPer1k: costPer1k(emptyStoreStats(), stats, records, ws.sink.statements),
    peakRssMb: peakRssMb(),
    storeTime: describeStoreTime(ws.storeTime),
    insertWrites: ws.sink.insertWrites,
    upsertWrites: ws.sink.upsertWrites,
    cpuMs: cpuAtFirstInvoke === undefined ? 0 : (cpu.user + cpu.system) / 1000,
  };
  await ws.close();
  process.send?.({ type: 'result', result }, () => process.exit(0));
});
