/**
 * The reload tier's cold container (reload-tier.ts forks it): a process of its own, as a new Lambda
 * execution environment is, with the heap the bench runs under (NODE_OPTIONS, e.g.
 * --max-old-space-size=900 for a 1,024 MB function, whose runtime gives the old space 90 % of the
 * memory). It builds the job's runtime on the bench's table and schema, then:
 *
 * 1. one small batch: the partition is read back (item, pieces, images applied into a new engine)
 *    and the batch folded and committed; timed, with the DynamoDB time and units;
 * 2. the V8 heap and the typed arrays' memory, after a full GC, before and after 1: what the
 *    partition's state costs per live session, at rest;
 * 3. one more batch with the clock a year ahead, so the transition rewrites the whole snapshot
 *    (the encoding's peak on top of the loaded state); timed;
 * 4. the process's peak RSS over all of it: the cold load and a snapshot, the worst case.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { handleKafkaEvent } from '../../lib/pipeline/index.ts';
import { createRuntime } from '../../lib/runtime/index.ts';
import { childOptions, peakRssMb, report } from './protocol.ts';
import { RELOAD_T0, reloadEvent } from './reload-event.ts';

export interface ColdOptions {
  /** The job's environment on the bench's table and schema. */
  readonly env: Record<string, string>;
  /** The partition's next offset: the cold batch's first. */
  readonly offset: number;
}

export interface ColdResult {
  readonly ms: number;
  readonly dynamodbMs: number;
  readonly readUnits: number;
  readonly itemsRead: number;
  readonly kbRead: number;
  /** Live sessions and users after the cold batch (its one new user included). */
  readonly liveSessions: number;
  /** Bytes the loaded state added, after a full GC: on the V8 heap, and in typed arrays (off the heap). */
  readonly heapBytes: number;
  readonly arrayBufferBytes: number;
  /** The snapshot batch: its time and the image it wrote. */
  readonly snapshotMs: number;
  readonly snapshotImage: string;
  readonly snapshotKb: number;
  /** V8's heap limit in this process (NODE_OPTIONS). */
  readonly heapLimitMb: number;
  readonly peakRssMb: number;
  /** RSS before the first batch: the runtime without any state. */
  readonly baselineRssMb: number;
}

// A full GC before each reading (--expose-gc as a runtime flag: the fork's execArgv is the bench's).
v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const settled = () => {
  gc();
  gc();
  return process.memoryUsage();
};

const options = childOptions<ColdOptions>();
const runtime = createRuntime({ ...process.env, ...options.env });
const deps = runtime.deps;
try {
  // Connections and lazily loaded modules first, so that the baseline has them.
  await deps.store.readMeta();
  await deps.sink.fenceGenerations('bench_warmup');
  const baselineRssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  const before = settled();
  const stats = deps.store.stats;
  const read = { ...stats };
  const started = performance.now();
  const [cold] = await handleKafkaEvent(
    deps,
    reloadEvent([['user_new_cold', RELOAD_T0 + 100]], options.offset),
  );
  const ms = performance.now() - started;
  const after = settled();

  const yearAhead = Date.now() + 365 * 86_400_000;
  const snapshotStarted = performance.now();
  const [snapshot] = await handleKafkaEvent(
    { ...deps, now: () => yearAhead + (performance.now() - snapshotStarted) },
    reloadEvent([['user_new_snapshot', RELOAD_T0 + 200]], options.offset + 1),
  );
  const snapshotMs = performance.now() - snapshotStarted;

  await report({
    ms,
    dynamodbMs: cold?.dynamodbMs ?? 0,
    readUnits: stats.readUnits - read.readUnits,
    itemsRead: stats.itemsRead - read.itemsRead,
    kbRead: (stats.bytesRead - read.bytesRead) / 1024,
    liveSessions: cold?.liveSessions ?? 0,
    heapBytes: after.heapUsed - before.heapUsed,
    arrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
    snapshotMs,
    snapshotImage: snapshot?.image ?? 'none',
    snapshotKb: (snapshot?.imageBytes ?? 0) / 1024,
    heapLimitMb: Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20),
    peakRssMb: peakRssMb(),
    baselineRssMb,
  } satisfies ColdResult);
} finally {
  await runtime.close();
}
