/**
 * Tier 1, the pure fold: no I/O. Two shapes of the same stream (one partition):
 *  - one fold over every event (the engine's raw speed);
 *  - batches of `batchSize` with the state carried in memory the way the handler carries it
 *    through DynamoDB: each fold gets the batch's users plus the users with a session due.
 * Each is timed `runs` times after a warm-up; the median run is reported.
 */
import {
  type EventRecord,
  fold,
  initialPartitionState,
  nextDue,
  type PartitionState,
  type UserState,
  watermarkAfter,
} from '../../lib/engine/index.ts';
import { childOptions, peakRssMb, progress, report, type TierRow } from './protocol.ts';
import { BENCH_ENGINE, generate, partitionRecords } from './stream.ts';

export interface EngineTierOptions {
  readonly events: number;
  readonly users: number;
  readonly batchSize: number;
  readonly runs: number;
  readonly seed: number;
}

const options = childOptions<EngineTierOptions>();
const records = partitionRecords(
  generate({ events: options.events, users: options.users, partitions: 1, seed: options.seed }),
  0,
);

function oneFold(input: readonly EventRecord[]): number {
  const result = fold({
    config: BENCH_ENGINE,
    partition: initialPartitionState(),
    users: new Map(),
    records: input,
    endOffset: input.length,
    nowMs: 0,
  });
  return result.emitted.length;
}

/** Returns [emitted, ms spent inside fold]: finding the due users (DynamoDB's job) is not timed. */
function batched(input: readonly EventRecord[], batchSize: number): [number, number] {
  const state = new Map<string, UserState>();
  let partition: PartitionState = initialPartitionState();
  let emitted = 0;
  let inFold = 0;
  for (let i = 0; i < input.length; i += batchSize) {
    const batch = input.slice(i, i + batchSize);
    const w = watermarkAfter(BENCH_ENGINE, partition, batch) ?? Number.NEGATIVE_INFINITY;
    const users = new Map<string, UserState>();
    for (const r of batch) {
      const u = state.get(r.userId);
      if (u !== undefined) users.set(r.userId, u);
    }
    for (const [id, u] of state) {
      const due = nextDue(u);
      if (due !== null && due <= w) users.set(id, u);
    }
    const started = performance.now();
    const result = fold({
      config: BENCH_ENGINE,
      partition,
      users,
      records: batch,
      endOffset: i + batch.length,
      nowMs: 0,
    });
    inFold += performance.now() - started;
    partition = result.partition;
    emitted += result.emitted.length;
    for (const [id, u] of result.users) {
      if (u.sessions.length === 0) state.delete(id);
      else state.set(id, u);
    }
  }
  return [emitted, inFold];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

// Warm-up: let V8 optimise the hot paths before anything is timed.
oneFold(records.slice(0, Math.min(records.length, 200_000)));
batched(records.slice(0, Math.min(records.length, 100_000)), options.batchSize);

const single: number[] = [];
let emitted = 0;
for (let run = 0; run < options.runs; run++) {
  const started = performance.now();
  emitted = oneFold(records);
  single.push(performance.now() - started);
  progress('engine: one fold', run + 1, options.runs, 'runs');
}
const inBatches: number[] = [];
let emittedBatched = 0;
for (let run = 0; run < options.runs; run++) {
  const [e, ms] = batched(records, options.batchSize);
  emittedBatched = e;
  inBatches.push(ms);
  progress(`engine: batches of ${options.batchSize}`, run + 1, options.runs, 'runs');
}
if (emitted !== emittedBatched) {
  throw new Error(
    `batched folds emitted ${emittedBatched} sessions, one fold ${emitted}: batch invariance broken`,
  );
}

const row = (detail: string, runs: number[]): TierRow => {
  const ms = median(runs);
  return {
    tier: 'engine',
    detail,
    events: records.length,
    seconds: ms / 1000,
    eventsPerSecond: records.length / (ms / 1000),
    costPer1k: null,
    peakRssMb: peakRssMb(),
    notes: [
      `${detail}: runs ${runs.map((r) => `${Math.round(r)} ms`).join(', ')}; ${emitted} sessions emitted`,
    ],
  };
};
await report([
  row('one fold', single),
  row(`batches of ${options.batchSize.toLocaleString('en-US')}`, inBatches),
]);
