import type { PartitionCheckpoint } from '../checkpoint/types.ts';
import { advanceTo, idleWatermark } from '../engine/index.ts';
import { CheckpointConflictError } from '../errors.ts';
import { round, timedDeps } from './timed.ts';
import { commitTransition } from './transition.ts';
import type { PipelineDeps, SweepOutcome } from './types.ts';

/**
 * The idle flush of one partition (DESIGN.md section 4): when it has received nothing for the
 * idle timeout, advance its watermark by the silent wall-clock time and fire what is due.
 */
export async function sweepPartition(
  deps: PipelineDeps,
  topic: string,
  partition: number,
): Promise<SweepOutcome> {
  const { store, settings } = deps;
  const read = await store.readPartition(topic, partition);
  const now = deps.now();
  if (read.claim !== null) {
    // A batch in flight (or failing and being retried) owns the partition: it is not idle, and
    // only its re-delivery can finish its transition. Another sweep's claim is taken over only
    // when it is stale (that sweep died): we redo the very same advance.
    if (read.claim.kind === 'batch' || now - read.claim.claimedAt < settings.sweepLeaseMs) {
      return { topic, partition, action: 'busy' };
    }
    return advance(deps, read, read.claim.watermark);
  }
  // Records some attempt already folded are not committed yet: advancing now could make those
  // records late in one history and not in another. Wait for the batch to finish.
  if (read.state.nextOffset < read.claimedThrough) return { topic, partition, action: 'uncommitted-records' };
  const target = idleWatermark(read.state, now, settings.idleTimeoutMs);
  if (target === null) return { topic, partition, action: 'not-idle' };
  return advance(deps, read, target);
}

/** Redoes a sweep whose claim is still pending (its invocation died), before anything else. */
export async function redoPendingSweep(
  deps: PipelineDeps,
  read: PartitionCheckpoint,
): Promise<PartitionCheckpoint> {
  if (read.claim?.kind !== 'sweep') return read;
  const outcome = await advance(deps, read, read.claim.watermark);
  if (outcome.action === 'lost-race') {
    throw new CheckpointConflictError(
      `Redoing the pending sweep of ${read.topic}-${read.partition} lost a race`,
    );
  }
  return deps.store.readPartition(read.topic, read.partition);
}

async function advance(
  untimed: PipelineDeps,
  read: PartitionCheckpoint,
  watermark: number,
): Promise<SweepOutcome> {
  const started = performance.now();
  const { deps, timings } = timedDeps(untimed);
  const { store, settings } = deps;
  const { topic, partition } = read;
  const due = await store.queryDue(topic, partition, watermark);
  const users = await store.readUsers(topic, partition, due);
  const result = advanceTo({ config: settings.engine, partition: read.state, users, watermark });
  const claim = { kind: 'sweep' as const, epoch: read.epoch + 1, claimedAt: deps.now(), watermark };
  try {
    await commitTransition(deps, read, claim, read.claimedThrough, result, []);
  } catch (error) {
    if (error instanceof CheckpointConflictError) return { topic, partition, action: 'lost-race' };
    throw error;
  }
  return {
    topic,
    partition,
    action: 'advanced',
    watermark,
    emitted: result.emitted.length,
    durationMs: round(performance.now() - started),
    dynamodbMs: round(timings.dynamodbMs),
    postgresMs: round(timings.postgresMs),
  };
}
