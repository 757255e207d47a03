/**
 * Tier 1, the pure fold: no I/O. Two shapes of the same stream (one partition):
 *  - one fold over every event (the engine's raw speed);
 *  - batches of `batchSize` with the state kept in memory between batches, as a warm container
 *    keeps it (PartitionSessions).
 * Each is timed `runs` times after a warm-up; the median run is reported.
 */
import {
  type EventRecord,
  fold,
  initialPartitionState,
  PartitionSessions,
  type UserVisitor,
} from '../../lib/engine/index.ts';
import { median } from './progress.ts';
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
  });
  return result.emittedColumns.length;
}

/**
 * Returns [emitted, ms spent folding]. Each batch's changed users are read field by field, as the
 * handler's delta image reads them (lib/pipeline/process-partition.ts), into a visitor that counts.
 */
function batched(input: readonly EventRecord[], batchSize: number): [number, number] {
  const sessions = new PartitionSessions(BENCH_ENGINE, initialPartitionState(), []);
  let emitted = 0;
  let handed = 0;
  const counter: UserVisitor = {
    user: (_userId, n) => {
      handed += n + 1;
    },
    session: () => undefined,
  };
  const started = performance.now();
  for (let i = 0; i < input.length; i += batchSize) {
    const batch = input.slice(i, i + batchSize);
    const result = sessions.apply(batch, i + batch.length);
    result.changed.visit(counter);
    emitted += result.emittedColumns.length;
  }
  if (handed === 0) throw new Error('engine tier: no batch changed a user');
  return [emitted, performance.now() - started];
}

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
