/**
 * Tier 3, the job's side of end-to-end: the local Kafka trigger (the PartitionReader that
 * `serverless offline start` runs for the msk event) on this thread, invoking the handler's code
 * in worker threads, one per partition (e2e-worker.ts), as serverless offline runs concurrent
 * invocations in worker threads of their own; all on the run's own checkpoint table and schema.
 *
 * Records when each session's row became visible (the sink transaction committed) to a file, for
 * the parent to turn into latencies. Stops when the parent says so, then reports its cost.
 */
import { writeFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { Kafka, logLevel } from 'kafkajs';
import { emptyStoreStats, type StoreStats } from '../../lib/checkpoint/index.ts';
import { normaliseSettings, type TriggerDefinition } from '../../offline/definition.ts';
import { PartitionReader } from '../../offline/reader.ts';
import type { Finished, Invoked, Loaded, ToWorker, WorkerOptions } from './e2e-worker.ts';
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
  /** CPU time of this process (the trigger and every worker) from the first invocation to the end. */
  readonly cpuMs: number;
}

const options = childOptions<PipelineOptions>();
let samples = new Float64Array(3 * 65_536);
let sampleCount = 0;
let lastCommitAt = 0;
// The run's table and schema; the runtimes that use them are the workers'.
const ws = await openWorkspace(options.name);

/**
 * A worker thread per partition: the "container" that serves it. Each has its own runtime (its
 * own DynamoDB client, PostgreSQL pool of DATABASE_POOL_SIZE, 2, and warm cache), as a container
 * has; a partition's batches always go to its worker, as to a container that keeps serving it.
 */
class Container {
  readonly #worker: Worker;
  readonly #pending = new Map<
    number,
    { resolve: (answer: Invoked) => void; reject: (error: Error) => void }
  >();
  #next = 0;
  #finished: ((finished: Finished) => void) | undefined;
  #dead: Error | undefined;
  #loaded: () => void = () => undefined;
  /** Resolves when the worker has loaded the handler's code and built its runtime. */
  readonly loaded: Promise<void>;

  constructor(workerOptions: WorkerOptions) {
    // TypeScript through tsx, registered in the worker (the parent's --import does not reach it).
    const script = JSON.stringify(new URL('./e2e-worker.ts', import.meta.url).href);
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${script}); })`;
    this.#worker = new Worker(boot, { eval: true, workerData: workerOptions });
    this.loaded = new Promise((resolve) => {
      this.#loaded = resolve;
    });
    this.#worker.on('message', (message: Invoked | Finished | Loaded) => {
      if (message.type === 'loaded') {
        this.#loaded();
        return;
      }
      if (message.type === 'finished') {
        this.#finished?.(message);
        return;
      }
      const waiting = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      waiting?.resolve(message);
    });
    // A worker that failed is gone: its invocations, and every later one, fail (the trigger retries).
    this.#worker.on('error', (error) => {
      this.#dead = error;
      for (const waiting of this.#pending.values()) waiting.reject(error);
      this.#pending.clear();
    });
  }

  invoke(event: unknown): Promise<Invoked> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      if (this.#dead !== undefined) {
        reject(this.#dead);
        return;
      }
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ type: 'invoke', id, event } satisfies ToWorker);
    });
  }

  async finish(): Promise<Finished> {
    const finished = new Promise<Finished>((resolve) => {
      this.#finished = resolve;
    });
    this.#worker.postMessage({ type: 'finish' } satisfies ToWorker);
    const result = await finished;
    await this.#worker.terminate();
    return result;
  }
}

const containers = Array.from(
  { length: options.partitions },
  () => new Container({ name: options.name, table: ws.table, schema: ws.schema, env: {} }),
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
    const answer = await (containers[partitionOf(event)] as Container).invoke(event);
    handlerMs += performance.now() - started;
    if (answer.error !== undefined) throw new Error(answer.error);
    invocations++;
    dynamodbMs += answer.dynamodbMs;
    postgresMs += answer.postgresMs;
    addSamples(answer.samples);
    records += answer.records;
    maxRecords = Math.max(maxRecords, answer.records);
    progress('e2e: processed', records, options.expectedEvents);
    return { batchItemFailures: [] };
  },
  { info: () => undefined, warn: (message) => console.error(message) },
);
await Promise.all(containers.map((c) => c.loaded));
await reader.startUntilRunning();
process.send?.({ type: 'ready', schema: ws.schema });

/** The partition of an MSK event's one "topic-partition" key (the trigger sends one per event). */
function partitionOf(event: unknown): number {
  const key = Object.keys((event as { records: Record<string, unknown> }).records)[0] ?? '';
  return Number(key.slice(key.lastIndexOf('-') + 1)) % containers.length;
}

function addSamples(more: Float64Array): void {
  if (more.length === 0) return;
  if (3 * sampleCount + more.length > samples.length) {
    const grown = new Float64Array(Math.max(samples.length * 2, 3 * sampleCount + more.length));
    grown.set(samples);
    samples = grown;
  }
  samples.set(more, 3 * sampleCount);
  sampleCount += more.length / 3;
  lastCommitAt = Math.max(lastCommitAt, more[more.length - 1] as number);
}

process.on('message', async (message: { type?: string }) => {
  if (message.type !== 'finish') return;
  await reader.stop();
  const cpu = process.cpuUsage(cpuAtFirstInvoke);
  const finished = await Promise.all(containers.map((c) => c.finish()));
  const stats = finished.reduce((sum, f) => addStats(sum, f.stats), emptyStoreStats());
  const storeTime: StoreTime = {};
  for (const f of finished) {
    for (const [call, ms] of Object.entries(f.storeTime)) storeTime[call] = (storeTime[call] ?? 0) + ms;
  }
  const sum = (key: 'statements' | 'insertWrites' | 'upsertWrites') =>
    finished.reduce((n, f) => n + f.sink[key], 0);
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
    costPer1k: costPer1k(emptyStoreStats(), stats, records, sum('statements')),
    peakRssMb: peakRssMb(),
    storeTime: describeStoreTime(storeTime),
    insertWrites: sum('insertWrites'),
    upsertWrites: sum('upsertWrites'),
    cpuMs: cpuAtFirstInvoke === undefined ? 0 : (cpu.user + cpu.system) / 1000,
  };
  await ws.close();
  process.send?.({ type: 'result', result }, () => process.exit(0));
});

function addStats(a: StoreStats, b: StoreStats): StoreStats {
  return {
    calls: a.calls + b.calls,
    itemsRead: a.itemsRead + b.itemsRead,
    itemsWritten: a.itemsWritten + b.itemsWritten,
    readUnits: a.readUnits + b.readUnits,
    writeUnits: a.writeUnits + b.writeUnits,
    bytesRead: a.bytesRead + b.bytesRead,
    bytesWritten: a.bytesWritten + b.bytesWritten,
  };
}
