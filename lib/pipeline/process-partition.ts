import { randomBytes } from 'node:crypto';
// One turn of the event loop: a request just started (the AWS SDK's, pg's) reaches its socket
// before the thread goes on with CPU-bound work.
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  decodeImage,
  type EncodedImage,
  encodeUsers,
  type ImagePlan,
  type ImageRef,
  nextManifest,
  type PartitionCheckpoint,
  planImage,
} from '../checkpoint/index.ts';
import type { KafkaRecord, PartitionBatch } from '../decode/index.ts';
import { type FoldResult, PartitionLoader, type PartitionSessions } from '../engine/index.ts';
import {
  CheckpointConflictError,
  CheckpointLostError,
  isRetryable,
  SinkDataError,
  SinkFencedError,
} from '../errors.ts';
import { log } from '../log.ts';
import type { Rejection, RejectReason } from '../parse/index.ts';
import type { Diversions } from './diversion.ts';
import { type FoldedRecords, foldRecords } from './fold-records.ts';
import { findUnwritable } from './isolate.ts';
import type { DecodedValues } from './parse-batch.ts';
import { round, timedDeps } from './store-timings.ts';
import { tableGeneration } from './table-generation.ts';
import { partitionCountIn, recordPartitionCount } from './topic-partitions.ts';
import type { PartitionOutcome, PipelineDeps } from './types.ts';
import { admitColdLoad, type CacheFigures, remember, warmBytes } from './warm-cache.ts';

/** Attempts per invocation when another invocation wins the race for the partition; then the batch is retried. */
const ATTEMPTS = 3;
/** Records of one batch the sink may refuse before the batch fails instead (each costs a bisection). */
const MAX_DIVERSIONS = 100;

type Untimed = Omit<PartitionOutcome, 'diverted' | 'durationMs' | 'dynamodbMs' | 'postgresMs'>;

/**
 * One partition's batch as one state transition (docs/STATE.md section 3): claim, fold, write the
 * sink and the state image, commit. Bad records become rejections; only infrastructure failures and
 * lost state throw. Whatever throws, this container forgets the partition's state: its memory may
 * hold a fold that was never committed.
 *
 * A write PostgreSQL refuses deterministically (SinkDataError) is not retried as it is, which
 * would stall the partition for good: the record that causes it is found (lib/pipeline/isolate.ts),
 * diverted to rejected_events as `unwritable`, and the transition runs again without it.
 */
export async function processPartition(deps: PipelineDeps, batch: PartitionBatch): Promise<PartitionOutcome> {
  const started = performance.now();
  const timed = timedDeps(deps);
  const diversions: Diversions = new Map();
  // Avro and Protobuf values, decoded once for every attempt: decoding is asynchronous (the
  // Powertools Kafka consumer), the fold is not (docs/DESIGN.md section 2, "Schema formats").
  const decoded = deps.values === undefined ? undefined : await deps.values.decode(batch.records);
  for (let attempt = 1; ; attempt++) {
    try {
      const done = await attemptPartition(timed.deps, batch, diversions, decoded);
      return {
        ...done,
        diverted: diversions.size,
        durationMs: round(performance.now() - started),
        dynamodbMs: round(timed.timings.dynamodbMs),
        postgresMs: round(timed.timings.postgresMs),
      };
    } catch (error) {
      deps.warm.partitions.delete(partitionLabel(batch));
      if (error instanceof SinkDataError && (await divert(timed.deps, batch, diversions, error, decoded))) {
        attempt = 0;
        continue;
      }
      // Lost or foreign state: forget the table's generation too, so that the next invocation reads
      // it again and sees an operator's `checkpoint adopt` or `new-generation` at once.
      if (!isRetryable(error)) deps.warm.generation = undefined;
      if (!(error instanceof CheckpointConflictError) || attempt >= ATTEMPTS) throw error;
    }
  }
}

/** Finds the record behind a refused write and diverts it; false when there is none to divert. */
async function divert(
  deps: PipelineDeps,
  batch: PartitionBatch,
  diversions: Diversions,
  error: SinkDataError,
  decoded: DecodedValues | undefined,
): Promise<boolean> {
  if (diversions.size >= MAX_DIVERSIONS) return false;
  const record = await findUnwritable(deps, batch, diversions, decoded);
  if (record === null) return false;
  const earlier = diversions.get(record.offset);
  // Its `unwritable` rejection was refused as well: once more with nothing of its own; after that, give up.
  if (earlier?.bare === true) return false;
  diversions.set(record.offset, { detail: error.message, bare: earlier !== undefined });
  log.error('record diverted: PostgreSQL refused what it made the batch write', {
    topicPartition: partitionLabel(batch),
    offset: record.offset,
    bare: earlier !== undefined,
    error: error.message,
  });
  return true;
}

async function attemptPartition(
  deps: PipelineDeps,
  batch: PartitionBatch,
  diversions: Diversions,
  decoded: DecodedValues | undefined,
  known?: PartitionCheckpoint,
): Promise<Untimed> {
  const { store, settings } = deps;
  const { topic, partition } = batch;
  const label = partitionLabel(batch);
  const generation = await tableGeneration(deps, topic);

  // The state to start from: this container's memory of its last commit, else the table's.
  const warm = deps.warm.partitions.get(label);
  const base = warm?.checkpoint ?? known ?? (await store.readPartition(topic, partition));
  const nextOffset = base?.state.nextOffset ?? 0;
  const fresh = batch.records.filter((r) => r.offset >= nextOffset);
  const skipped = batch.records.length - fresh.length;
  if (fresh.length === 0) {
    const cache = { warmPartitions: deps.warm.partitions.size, warmBytes: warmBytes(deps.warm), evicted: [] };
    return outcome(batch, base, { skipped, state: 'none', cache, stateBytes: warm?.bytes ?? 0 });
  }
  const first = fresh[0] as KafkaRecord;
  const offsetGap = base !== null && base.version > 0 ? first.offset - nextOffset : 0;

  // 1. claim: conditional on that state still being the committed one.
  deps.warm.partitions.delete(label);
  const claimAt = { epoch: (base?.epoch ?? 0) + 1, at: deps.now() };
  const endOffset = (fresh.at(-1) as KafkaRecord).offset + 1;
  const fold = (sessions: PartitionSessions) =>
    foldRecords(sessions, fresh, endOffset, settings, diversions, decoded);
  let claimed: PartitionCheckpoint;
  let sessions: PartitionSessions;
  let folded: FoldedRecords;
  let state: 'warm' | 'cold';
  const evicted: string[] = [];
  if (warm !== undefined) {
    // 2. fold (pure), while the claim's round trip is under way (docs/STATE.md section 3): nothing
    // of the fold is written before the claim succeeded, and a refused claim drops this memory.
    const claiming = store.claim(topic, partition, warm.checkpoint, claimAt, warm.checkpoint.lineage);
    claiming.catch(() => undefined);
    await nextTurn();
    sessions = warm.sessions;
    folded = fold(sessions);
    try {
      claimed = await claiming;
      state = 'warm';
    } catch (error) {
      // Someone else committed or claimed since this container's last commit: start over from
      // what they left (returned with the refusal), or from the table.
      if (!(error instanceof CheckpointConflictError)) throw error;
      return attemptPartition(
        deps,
        batch,
        diversions,
        decoded,
        error.current as PartitionCheckpoint | undefined,
      );
    }
  } else {
    // Before anything is written: a partition that cannot fit this container is refused, loudly,
    // and room is made for one that can (docs/DEPLOY.md, "Sizing").
    const forgotten = admitColdLoad(deps.warm, settings.memory, label, base);
    const lineage = base?.lineage ?? randomBytes(4).toString('hex');
    claimed = await store.claim(topic, partition, base, claimAt, lineage);
    sessions = await loadSessions(deps, base, claimed);
    // 2. fold (pure).
    folded = fold(sessions);
    state = 'cold';
    evicted.push(...forgotten);
  }
  const { result, rejections, ticks } = folded;

  // 3. the sink and the state image, in parallel: neither is visible to the checkpoint before 4.
  // The sink's statement leaves first; the image is encoded while PostgreSQL runs it.
  const writing = deps.sink.write(
    { emitted: result.emittedColumns, superseded: result.superseded, rejections },
    {
      topic,
      partition,
      generation,
      epoch: claimed.epoch,
      watermark: result.partition.watermark,
      allowedLatenessMs: settings.engine.allowedLatenessMs,
    },
  );
  writing.catch(() => undefined);
  await nextTurn();
  const now = deps.now();
  const stats = sessions.stats();
  let delta: EncodedImage | undefined;
  const deltaImage = () => {
    delta ??= encodeUsers((visitor) => result.changed.visit(visitor));
    return delta;
  };
  const plan = planImage(
    claimed.manifest,
    result.changed.size,
    stats.liveUsers,
    () => deltaImage().bytes,
    now,
    { journalMax: settings.journalMax, stateTtlDays: settings.stateTtlDays },
  );
  const image = imageFor(plan, deltaImage, sessions);
  const [sunk, written] = await Promise.allSettled([
    writing,
    image === undefined ? Promise.resolve(undefined) : store.writeImage(claimed, image, now),
  ]);
  if (sunk.status === 'rejected') throw await fenceVerdict(deps, claimed, sunk.reason);
  if (written.status === 'rejected') throw written.reason;

  // 4. commit.
  const memoryBytes = sessions.memoryBytes();
  const committed = await store.commit(claimed, {
    state: result.partition,
    manifest: nextManifest(claimed.manifest, plan, written.value as ImageRef | undefined),
    stats,
    committedAt: now,
    // Ticks are not activity: the sweep measures quiet from the last record of any other kind.
    lastRecordAt: fresh.length > ticks ? now : claimed.lastRecordAt,
    memoryBytes,
  });
  const cache = remember(deps.warm, settings.memory, label, {
    sessions,
    checkpoint: committed,
    bytes: memoryBytes,
  });
  // The sweep's `partitions` control record: the topic's partition count, for `meta`.
  const partitions = ticks > 0 ? partitionCountIn(fresh) : undefined;
  if (partitions !== undefined) await recordPartitionCount(deps, topic, partitions);

  return outcome(batch, committed, {
    skipped,
    state,
    fresh,
    result,
    rejections,
    ticks,
    plan,
    imageBytes: image?.bytes ?? 0,
    offsetGap,
    liveSessions: stats.liveSessions,
    stateBytes: memoryBytes,
    cache: { ...cache, evicted: [...evicted, ...cache.evicted] },
  });
}

/**
 * A cold start of a partition: its committed images decoded in order, user by user, straight into
 * a fresh engine sized by the checkpoint's counts (docs/STATE.md section 2).
 */
async function loadSessions(
  deps: PipelineDeps,
  base: PartitionCheckpoint | null,
  claimed: PartitionCheckpoint,
): Promise<PartitionSessions> {
  const images = base === null ? [] : await deps.store.readImages(base);
  const what = `a state image of ${claimed.topic}-${claimed.partition}`;
  const loader = new PartitionLoader(deps.settings.engine, claimed.state, {
    users: base?.stats.liveUsers,
    sessions: base?.stats.liveSessions,
  });
  for (const image of images) decodeImage(image, loader.visitor, what);
  return loader.finish();
}

function imageFor(
  plan: ImagePlan,
  delta: () => EncodedImage,
  sessions: PartitionSessions,
): EncodedImage | undefined {
  if (plan === 'delta') return delta();
  if (plan === 'snapshot') return encodeUsers((visitor) => sessions.visitUsers(visitor));
  return undefined;
}

/**
 * The sink refused our write (docs/STATE.md section 5). If the partition item now has a newer
 * epoch than our claim, a newer invocation took over: we are a zombie, and the retry reads its
 * state. If not, PostgreSQL has seen an epoch or generation this table never issued after ours:
 * the table went back, and processing on would undercount.
 */
async function fenceVerdict(
  deps: PipelineDeps,
  claimed: PartitionCheckpoint,
  error: unknown,
): Promise<unknown> {
  if (!(error instanceof SinkFencedError)) return error;
  const { topic, partition } = claimed;
  const current = await deps.store.readPartition(topic, partition);
  const ours = deps.warm.generation;
  if (current !== null && current.epoch > claimed.epoch && error.fenceGeneration === ours) {
    return new CheckpointConflictError(
      `${error.message}; a newer claim (epoch ${current.epoch}) took over`,
      error,
    );
  }
  return new CheckpointLostError(
    `The checkpoint of ${topic}-${partition} is behind PostgreSQL: ${error.message}, while this table ` +
      `(generation ${ours}) has issued epochs up to ${current?.epoch ?? 'none (no partition item)'}. ` +
      'The table lost this partition or was restored from a backup. Nothing is processed until you ' +
      'decide: `npm run checkpoint -- adopt` for a restored table, `npm run checkpoint -- new-generation` ' +
      'to accept the loss (docs/STATE.md, "Recovery").',
    error,
  );
}

export function partitionLabel(batch: { topic: string; partition: number }): string {
  return `${batch.topic}-${batch.partition}`;
}

function outcome(
  batch: PartitionBatch,
  checkpoint: PartitionCheckpoint | null,
  details: {
    skipped: number;
    state: PartitionOutcome['state'];
    fresh?: readonly KafkaRecord[];
    result?: FoldResult;
    rejections?: readonly Rejection[];
    ticks?: number;
    plan?: ImagePlan;
    imageBytes?: number;
    offsetGap?: number;
    liveSessions?: number;
    stateBytes: number;
    cache: CacheFigures;
  },
): Untimed {
  const rejected: Partial<Record<RejectReason, number>> = {};
  for (const r of details.rejections ?? []) rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
  return {
    topic: batch.topic,
    partition: batch.partition,
    firstOffset: details.fresh?.[0]?.offset ?? null,
    lastOffset: details.fresh?.at(-1)?.offset ?? null,
    records: details.fresh?.length ?? 0,
    skipped: details.skipped,
    ticks: details.ticks ?? 0,
    emitted: details.result?.emittedColumns.length ?? 0,
    earlyFired: details.result?.earlyFired ?? 0,
    superseded: details.result?.superseded.length ?? 0,
    rejected,
    late: details.result?.late.length ?? 0,
    watermark: checkpoint?.state.watermark ?? null,
    lastLogTime: checkpoint?.state.lastLogTime ?? null,
    usersTouched: details.result?.changed.size ?? 0,
    liveSessions: details.liveSessions ?? checkpoint?.stats.liveSessions ?? 0,
    state: details.state,
    image: details.plan ?? 'none',
    imageBytes: details.imageBytes ?? 0,
    offsetGap: details.offsetGap ?? 0,
    commits: details.result === undefined ? 0 : 1,
    stateBytes: details.stateBytes,
    warmPartitions: details.cache.warmPartitions,
    warmBytes: details.cache.warmBytes,
    evicted: details.cache.evicted,
  };
}
