/**
 * Tier 3, one "container" of the job: a worker thread that runs the handler's code for the
 * invocations e2e-pipeline.ts hands it, with a runtime of its own (its own DynamoDB client,
 * PostgreSQL pool and warm cache), on the run's checkpoint table and schema. serverless offline
 * runs each concurrent invocation in a worker thread of its own, and on AWS each partition's batch
 * runs in a container of its own; the trigger gives each partition one worker, so a partition's
 * batches find its state warm, as they do in a container that keeps serving it.
 *
 * The event reaches the worker as serverless offline hands it over: a structured clone.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { StoreStats } from '../../lib/checkpoint/index.ts';
import { handleKafkaEvent } from '../../lib/pipeline/index.ts';
import { attachWorkspace, type SinkCounters, type StoreTime } from './workspace.ts';

export interface WorkerOptions {
  readonly name: string;
  readonly table: string;
  readonly schema: string;
  readonly env: Record<string, string>;
}

/** The parent's messages: an invocation, or the end of the run. */
export type ToWorker = { type: 'invoke'; id: number; event: unknown } | { type: 'finish' };

/** One invocation's answer: its figures, and when each emitted session's row became visible. */
export interface Invoked {
  readonly type: 'invoked';
  readonly id: number;
  readonly error?: string;
  readonly records: number;
  readonly dynamodbMs: number;
  readonly postgresMs: number;
  /** Float64 triples (partition, session end, committed at), transferred. */
  readonly samples: Float64Array;
}

export interface Loaded {
  readonly type: 'loaded';
}

export interface Finished {
  readonly type: 'finished';
  readonly stats: StoreStats;
  readonly storeTime: StoreTime;
  readonly sink: SinkCounters;
}

const options = workerData as WorkerOptions;
const port = parentPort;
if (port === null) throw new Error('e2e-worker.ts runs as a worker thread');

let samples: number[] = [];
const ws = attachWorkspace(
  options.name,
  options.table,
  options.schema,
  (batch, fence, committedAt) => {
    for (const session of batch.emitted) samples.push(fence.partition, session.end, committedAt);
  },
  options.env,
);

// Loaded: the parent starts the trigger once every worker is (module loading is not timed, as
// it is not in a warm container).
port.postMessage({ type: 'loaded' } satisfies Loaded);

port.on('message', async (message: ToWorker) => {
  if (message.type === 'finish') {
    const finished: Finished = {
      type: 'finished',
      stats: { ...ws.deps.store.stats },
      storeTime: ws.storeTime,
      sink: ws.sink,
    };
    await ws.close();
    port.postMessage(finished);
    return;
  }
  let answer: Invoked;
  try {
    const outcomes = await handleKafkaEvent(ws.deps, message.event);
    let records = 0;
    let dynamodbMs = 0;
    let postgresMs = 0;
    for (const o of outcomes) {
      records += o.records;
      dynamodbMs += o.dynamodbMs;
      postgresMs += o.postgresMs;
    }
    answer = {
      type: 'invoked',
      id: message.id,
      records,
      dynamodbMs,
      postgresMs,
      samples: new Float64Array(samples),
    };
  } catch (error) {
    answer = {
      type: 'invoked',
      id: message.id,
      error: error instanceof Error ? error.message : String(error),
      records: 0,
      dynamodbMs: 0,
      postgresMs: 0,
      samples: new Float64Array(samples),
    };
  }
  samples = [];
  port.postMessage(answer, [answer.samples.buffer as ArrayBuffer]);
});
