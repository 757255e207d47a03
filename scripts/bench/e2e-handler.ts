/**
 * Tier 3, one partition's handler: a worker thread of the end-to-end pipeline process that runs
 * the function's code for the invocations of its partition, as a container of its own on AWS (one
 * concurrent invocation per partition) and as a worker thread of its own under `serverless offline
 * start` (useInProcess false). Its own runtime (DynamoDB client, PostgreSQL pool, warm cache) on
 * the run's shared table and schema; the trigger stays in the main thread, so neither kafkajs's
 * fetch decoding nor another partition's fold holds this partition's event loop.
 *
 * Messages (scripts/bench/e2e-pipeline.ts): `invoke` -> `done` (or `failed`), `reset`, `finish` -> `stats`.
 *
 * With BENCH_HEAP_PROF=<dir>, the thread samples its allocations (V8's sampling heap profiler, every
 * 4 KB allocated on average, objects already collected included) from its start, or from `reset`
 * when the run has a warm-up, to `finish`, and writes the profile there as
 * heap-<pid>-<thread>.heapprofile (open it in Chrome DevTools' Memory panel): the bytes the
 * function's code allocates per event, by function (docs/BENCHMARKS.md, "The evening of
 * 2026-12-04, later").
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { StoreStats } from '../../lib/checkpoint/index.ts';
import { EmittedSessions } from '../../lib/engine/index.ts';
import { handleKafkaEvent } from '../../lib/pipeline/index.ts';
import type { TriggerDefinition } from '../../offline/definition.ts';
import { packedEvent } from '../../offline/packed-records.ts';
import { openWorkspace, type SinkCounters, type StoreTime, type WorkspaceStorage } from './workspace.ts';

export interface HandlerData {
  readonly name: string;
  readonly storage: WorkspaceStorage;
  readonly env: Record<string, string>;
  /** The trigger's event source and brokers: what buildEvent puts around the records. */
  readonly trigger: Pick<TriggerDefinition, 'eventSource' | 'eventSourceArn'>;
  readonly brokers: readonly string[];
}

/**
 * `invoke`: one batch of records as packRecords packed it (offline/packed-records.ts).
 * `reset`: the counters start again at zero (after the warm-up stream).
 */
export type ToHandler =
  | { type: 'invoke'; id: number; batch: ArrayBuffer }
  | { type: 'reset' }
  | { type: 'finish' };

export type FromHandler =
  | { type: 'ready' }
  | {
      type: 'done';
      id: number;
      records: number;
      dynamodbMs: number;
      postgresMs: number;
      /** (partition, session end, committed at) for every session the invocation's sink wrote. */
      samples: Float64Array;
      lastCommitAt: number;
    }
  | { type: 'failed'; id: number; message: string }
  | { type: 'stats'; store: StoreStats; storeTime: StoreTime; sink: SinkCounters };

const port = parentPort;
if (port === null) throw new Error('e2e-handler.ts runs as a worker thread of e2e-pipeline.ts');
const data = workerData as HandlerData;
let samples: number[] = [];
let lastCommitAt = 0;
const ws = await openWorkspace(
  data.name,
  (batch, fence, committedAt) => {
    lastCommitAt = committedAt;
    for (const end of EmittedSessions.from(batch.emitted).ends)
      samples.push(fence.partition, end, committedAt);
  },
  data.env,
  data.storage,
);
const post = (message: FromHandler, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

const heapProfiles = process.env.BENCH_HEAP_PROF;
const sampler = heapProfiles === undefined ? undefined : new Session();
const sampleAllocations = async () => {
  if (sampler === undefined) return;
  await sampler.post('HeapProfiler.stopSampling').catch(() => undefined);
  await sampler.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
};
sampler?.connect();
await sampleAllocations();

port.on('message', async (message: ToHandler) => {
  if (message.type === 'reset') {
    await sampleAllocations();
    const { stats } = ws.deps.store;
    for (const key of Object.keys(stats) as (keyof StoreStats)[]) stats[key] = 0;
    for (const call of Object.keys(ws.storeTime)) delete ws.storeTime[call];
    for (const key of Object.keys(ws.sink) as (keyof SinkCounters)[]) ws.sink[key] = 0;
    return;
  }
  if (message.type === 'finish') {
    if (sampler !== undefined && heapProfiles !== undefined) {
      const { profile } = await sampler.post('HeapProfiler.stopSampling');
      await writeFile(
        join(heapProfiles, `heap-${process.pid}-${threadId}.heapprofile`),
        JSON.stringify(profile),
      );
      sampler.disconnect();
    }
    const { stats } = ws.deps.store;
    post({ type: 'stats', store: { ...stats }, storeTime: ws.storeTime, sink: ws.sink });
    await ws.close();
    port.close();
    return;
  }
  samples = [];
  try {
    // The event Lambda would deliver, built here as the trigger would have built it (offline/event.ts).
    const event = packedEvent(message.batch, data.trigger, data.brokers);
    const outcomes = await handleKafkaEvent(ws.deps, event);
    let records = 0;
    let dynamodbMs = 0;
    let postgresMs = 0;
    for (const o of outcomes) {
      records += o.records;
      dynamodbMs += o.dynamodbMs;
      postgresMs += o.postgresMs;
    }
    const written = Float64Array.from(samples);
    post({ type: 'done', id: message.id, records, dynamodbMs, postgresMs, samples: written, lastCommitAt }, [
      written.buffer,
    ]);
  } catch (error) {
    post({ type: 'failed', id: message.id, message: error instanceof Error ? error.message : String(error) });
  }
});
post({ type: 'ready' });
